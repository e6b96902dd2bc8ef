"""The diagnostic service's jobs (planeco_shared.jobs): scheduled and long work, run by
`planeco diagnostic run-job`, the scheduler loop, Kubernetes CronJobs and
POST /api/v1/jobs/diagnostic/runs (body {"job": …}).
"""

from __future__ import annotations

from planeco_diagnostic.db import JobRun
from planeco_diagnostic.outbox.jobs import send_mail_job
from planeco_shared.jobs import Job, JobRegistry

JOBS = JobRegistry(
    "diagnostic",
    JobRun,
    [
        Job(
            "send-mail",
            "Send the due e-mails of the outbox over SMTP (retries with backoff, a daily cap, never twice)",
            send_mail_job,
            schedule="* * * * *",
        ),
    ],
)
