"""The actions service's jobs (planeco_shared.jobs): scheduled and long work, run by
`planeco actions run-job`, the scheduler loop, Kubernetes CronJobs and POST /api/v1/jobs/actions/runs
(body {"job": …}).

None yet; the first will be the Aides-territoires sync (daily).
"""

from __future__ import annotations

from planeco_actions.db import JobRun
from planeco_shared.jobs import JobRegistry

JOBS = JobRegistry("actions", JobRun, [])
