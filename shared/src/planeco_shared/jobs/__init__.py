"""Scheduled and long work, the same way in every service: see registry (declaring jobs), runner (running
and recording them), locks (one run at a time), schedule (cron and the scheduler loop), router (the API)."""

from planeco_shared.jobs.models import JobOutcome, JobRunMixin, JobTrigger
from planeco_shared.jobs.registry import (
    Job,
    JobConfigError,
    JobContext,
    JobRegistry,
    Parameter,
    job_principal,
)
from planeco_shared.jobs.runner import JobAlreadyRunning, JobResult, begin_run, run_job

__all__ = [
    "Job",
    "JobAlreadyRunning",
    "JobConfigError",
    "JobContext",
    "JobOutcome",
    "JobRegistry",
    "JobResult",
    "JobRunMixin",
    "JobTrigger",
    "Parameter",
    "begin_run",
    "job_principal",
    "run_job",
]
