"""Read shapes of the jobs API (the same in every service)."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

from planeco_shared.jobs.models import JobOutcome, JobTrigger


class JobRunError(BaseModel):
    item: str | None = Field(description="What failed: a row, a file, an aid id… (null: the run as a whole)")
    message: str
    type: str | None = None


class JobRunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    job: str
    trigger: JobTrigger
    started_by: str = Field(description="Who started it: an API caller's subject, `cli:<user>`, `scheduler`…")
    started_at: dt.datetime
    finished_at: dt.datetime | None
    outcome: JobOutcome
    arguments: dict[str, str]
    counts: dict[str, int] = Field(description="What the job counted (rows read, written, errors…)")
    errors: list[JobRunError] = Field(description="Item-level errors, the first 200 (counts.errors has all)")
    message: str | None


class JobRunStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job: str = Field(min_length=1, max_length=80, description="The job to run (see the service's jobs)")


class JobParameterRead(BaseModel):
    name: str
    description: str
    required: bool


class JobRead(BaseModel):
    name: str
    description: str
    schedule: str | None = Field(description="Cron expression (UTC) in force; null: on demand only")
    next_run_at: dt.datetime | None = Field(description="When the schedule fires next (UTC)")
    parameters: list[JobParameterRead] = Field(
        description="Arguments; a job with required ones runs from the CLI"
    )
    last_run: JobRunRead | None
