"""The diagnostic service's jobs (planeco_shared.jobs): scheduled and long work, run by
`planeco diagnostic run-job`, the scheduler loop, Kubernetes CronJobs and
POST /api/v1/jobs/diagnostic/runs (body {"job": …}).

The import of the shipped default questionnaire, the daily clean-up of expired idempotency keys, and the
e-mail outbox (every minute), the reminders of the campaigns that close soon (daily).
"""

from __future__ import annotations

from planeco_diagnostic.db import IdempotencyKey, JobRun
from planeco_diagnostic.mailings.jobs import campaign_reminders_job
from planeco_diagnostic.outbox.jobs import send_mail_job
from planeco_diagnostic.questionnaires.jobs import import_default_questionnaire_job
from planeco_shared.idempotency import purge_idempotency_keys_job
from planeco_shared.jobs import Job, JobRegistry

JOBS = JobRegistry(
    "diagnostic",
    JobRun,
    [
        Job(
            "import-default-questionnaire",
            "Load the default national questionnaire shipped with the service (idempotent: the same file "
            "changes nothing, a changed one is a new edition)",
            import_default_questionnaire_job,
        ),
        purge_idempotency_keys_job(IdempotencyKey),  # daily, 03:20 UTC
        Job(
            "send-mail",
            "Send the due e-mails of the outbox over SMTP (retries with backoff, a daily cap, never twice)",
            send_mail_job,
            schedule="* * * * *",
        ),
        Job(
            "campaign-reminders",
            "E-mail reminders to the non-respondents of the open campaigns that close in "
            "`reminder_days_before_closing` days (once a day per campaign)",
            campaign_reminders_job,
            schedule="0 7 * * *",
        ),
    ],
)
