"""The diagnostic service's jobs (planeco_shared.jobs): scheduled and long work, run by
`planeco diagnostic run-job`, the scheduler loop, Kubernetes CronJobs and
POST /api/v1/jobs/diagnostic/runs (body {"job": …}).

None yet; the first will be the e-mail outbox (every few minutes).
"""

from __future__ import annotations

from planeco_diagnostic.db import JobRun
from planeco_shared.jobs import JobRegistry

JOBS = JobRegistry("diagnostic", JobRun, [])
