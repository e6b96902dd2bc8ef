"""`planeco dev up`'s jobs: which services get a scheduler process, from the stack's environment."""

from __future__ import annotations

import pytest

from planeco.devstack import scheduled_services
from planeco_shared.jobs import JobConfigError


def test_the_services_with_scheduled_jobs_get_a_scheduler() -> None:
    assert scheduled_services({}) == ["levers", "diagnostic", "actions"]
    assert scheduled_services({"PLANECO_LEVERS_JOB_SCHEDULES": '{"reference-data": ""}'}) == [
        "diagnostic",
        "actions",
    ]
    # actions keeps its daily purge of idempotency keys; diagnostic its outbox and its purge.
    assert scheduled_services({"PLANECO_ACTIONS_JOB_SCHEDULES": '{"sync-aids": ""}'}) == [
        "levers",
        "diagnostic",
        "actions",
    ]
    no_diagnostic = '{"purge-idempotency-keys": "", "send-mail": "", "campaign-reminders": ""}'
    assert scheduled_services(
        {
            "PLANECO_DIAGNOSTIC_JOB_SCHEDULES": no_diagnostic,
            "PLANECO_ACTIONS_JOB_SCHEDULES": '{"purge-idempotency-keys": ""}',
        }
    ) == ["levers", "actions"]
    with pytest.raises(JobConfigError, match="'sync' is not a job of actions"):
        scheduled_services({"PLANECO_ACTIONS_JOB_SCHEDULES": '{"sync": "0 3 * * *"}'})
