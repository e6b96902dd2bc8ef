"""The levers service's ORM base (its own metadata, its own tables), audit and job-run tables."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from planeco_shared.dataversion import DataVersionMixin
from planeco_shared.jobs.models import JobRunMixin
from planeco_shared.models import AuditEntryMixin, new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


class DataVersion(DataVersionMixin, Base):
    """The service's data version: bumped by every transaction that writes (planeco_shared.dataversion)."""

    __tablename__ = "data_version"


class AuditEntry(AuditEntryMixin, Base):
    __tablename__ = "audit_log"


class JobRun(JobRunMixin, Base):
    """One run of one of the service's jobs (planeco_levers.jobs)."""

    __tablename__ = "job_runs"


def load_all_models() -> None:
    """Import every module's models so that Base.metadata is complete (Alembic autogenerate/check)."""
    from planeco_levers.adjustments import models as _adjustments  # noqa: F401
    from planeco_levers.declination import models as _declination  # noqa: F401
    from planeco_levers.levers import models as _levers  # noqa: F401
    from planeco_levers.panoramas import models as _panoramas  # noqa: F401
    from planeco_levers.territories import models as _territories  # noqa: F401
