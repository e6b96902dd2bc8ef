"""ORM building blocks: naming convention, UTC timestamps, portable JSON, the audit-entry mixin."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, DateTime, Index, MetaData, String, TypeDecorator, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# An index whose `info` names its dialects exists on those only: `Index(..., info={DIALECTS:
# ("postgresql",)}).ddl_if(dialect="postgresql")`, created by a migration that checks the dialect; the
# comparison of models and database (`check-migrations`, autogenerate) leaves it out on the others.
DIALECTS = "dialects"


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
PortableJSON = JSON().with_variant(JSONB(), "postgresql")


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class AuditEntryMixin:
    """Who changed what, when: one row per write. Each service maps it to its own `audit_log` table."""

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:  # noqa: N805 (a class-level directive: SQLAlchemy passes the class)
        # History reads look entries up by entity.
        return (Index(f"ix_{cls.__tablename__}_entity", "entity_type", "entity_id"),)  # type: ignore[attr-defined]

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    actor_role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    entity_type: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str] = mapped_column(String(100))
    changes: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(128))


class ArchivableMixin:
    """Soft deletion: `archived_at` is set instead of deleting the row (`planeco_shared.archive`)."""

    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True, default=None)
