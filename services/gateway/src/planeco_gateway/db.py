"""The gateway's ORM base: its only tables are the API keys of machine clients."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from planeco_shared.models import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


def load_all_models() -> None:
    from planeco_gateway.apikeys import models as _apikeys  # noqa: F401
