"""The gateway's ORM base. Its only tables hold credentials and rights, never domain data: the hashed
API keys of machine clients and the rights granted explicitly to people signing in with ProConnect."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from planeco_shared.dataversion import DataVersionMixin
from planeco_shared.models import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


class DataVersion(DataVersionMixin, Base):
    """The service's data version: bumped by every transaction that writes (planeco_shared.dataversion)."""

    __tablename__ = "data_version"


def load_all_models() -> None:
    from planeco_gateway.apikeys import models as _apikeys  # noqa: F401
    from planeco_gateway.grants import models as _grants  # noqa: F401
