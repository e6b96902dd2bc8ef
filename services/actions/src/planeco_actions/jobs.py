"""The actions service's jobs (planeco_shared.jobs): scheduled and long work, run by
`planeco actions run-job`, the scheduler loop, Kubernetes CronJobs and POST /api/v1/jobs/actions/runs
(body {"job": …})."""

from __future__ import annotations

from planeco_actions.aids.jobs import sync_aids_job
from planeco_actions.db import IdempotencyKey, JobRun
from planeco_shared.idempotency import purge_idempotency_keys_job
from planeco_shared.jobs import Job, JobRegistry

JOBS = JobRegistry(
    "actions",
    JobRun,
    [
        Job(
            "sync-aids",
            "The Aides-territoires catalogue into aids: a full scan, applied only once complete",
            sync_aids_job,
            # Daily, after the API's list cache turns over at midnight (Europe/Paris); override with
            # PLANECO_ACTIONS_JOB_SCHEDULES='{"sync-aids": "…"}' ("" disables).
            schedule="40 2 * * *",
        ),
        purge_idempotency_keys_job(IdempotencyKey),  # daily, 03:20 UTC
    ],
)
