"""The diagnostic service's jobs (planeco_shared.jobs): scheduled and long work, run by
`planeco diagnostic run-job`, the scheduler loop, Kubernetes CronJobs and
POST /api/v1/jobs/diagnostic/runs (body {"job": …}).

The daily clean-up of expired idempotency keys; next, the e-mail outbox (every few minutes).
"""

from __future__ import annotations

from planeco_diagnostic.db import IdempotencyKey, JobRun
from planeco_shared.idempotency import purge_idempotency_keys_job
from planeco_shared.jobs import JobRegistry

JOBS = JobRegistry("diagnostic", JobRun, [purge_idempotency_keys_job(IdempotencyKey)])  # daily, 03:20 UTC
