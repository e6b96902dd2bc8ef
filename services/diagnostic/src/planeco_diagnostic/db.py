"""The diagnostic service's ORM base and its shared tables: audit, job runs, idempotency keys."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from planeco_shared.dataversion import DataVersionMixin
from planeco_shared.idempotency import IdempotencyKeyMixin
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
    """One run of one of the service's jobs (planeco_diagnostic.jobs)."""

    __tablename__ = "job_runs"


class IdempotencyKey(IdempotencyKeyMixin, Base):
    """A stored response of an idempotent create (planeco_shared.idempotency)."""

    __tablename__ = "idempotency_keys"


def load_all_models() -> None:
    """Import every module's models so that Base.metadata is complete (Alembic autogenerate/check)."""
    from planeco_diagnostic.campaigns import models as _campaigns  # noqa: F401
    from planeco_diagnostic.contacts import models as _contacts  # noqa: F401
    from planeco_diagnostic.invitations import models as _invitations  # noqa: F401
    from planeco_diagnostic.outbox import models as _outbox  # noqa: F401
    from planeco_diagnostic.questionnaires import models as _questionnaires  # noqa: F401
    from planeco_diagnostic.responses import models as _responses  # noqa: F401
    from planeco_diagnostic.syntheses import models as _syntheses  # noqa: F401
