"""The `job_runs` table every service with jobs maps (like AuditEntryMixin): one row per run."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from planeco_shared.dataversion import UNVERSIONED
from planeco_shared.models import PortableJSON, UTCDateTime, utcnow


class JobTrigger(StrEnum):
    cli = "cli"  # `planeco <svc> run-job`, an import command, a Kubernetes CronJob's container
    schedule = "schedule"  # the in-process scheduler loop (`planeco <svc> scheduler`, `planeco dev up`)
    api = "api"  # POST /api/v1/jobs/<svc>/runs (body {"job": …})


class JobOutcome(StrEnum):
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    skipped = "skipped"  # another run of the same job held the lock: this one did nothing


class JobRunMixin:
    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:  # noqa: N805 (a class-level directive: SQLAlchemy passes the class)
        # Lists filter by job and read newest first; "last run of each job" reads the same index.
        # Bookkeeping that no cached read shows: recording a run leaves the data version alone.
        return (
            Index(f"ix_{cls.__tablename__}_job_started", "job", "started_at"),  # type: ignore[attr-defined]
            {"info": {UNVERSIONED: True}},
        )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    job: Mapped[str] = mapped_column(String(80))
    trigger: Mapped[str] = mapped_column(String(20))
    started_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(20), index=True)
    arguments: Mapped[dict[str, str]] = mapped_column(PortableJSON, default=dict)
    counts: Mapped[dict[str, int]] = mapped_column(PortableJSON, default=dict)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON, default=list)
    message: Mapped[str | None] = mapped_column(Text())
