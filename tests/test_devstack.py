"""`planeco dev up`'s jobs: which services get a scheduler process, from the stack's environment."""

from __future__ import annotations

import pytest

from planeco.devstack import scheduled_services
from planeco_shared.jobs import JobConfigError


def test_the_services_with_scheduled_jobs_get_a_scheduler() -> None:
    assert scheduled_services({}) == ["levers", "diagnostic", "actions"]
    no_mail = {"PLANECO_DIAGNOSTIC_JOB_SCHEDULES": '{"send-mail": ""}'}
    assert scheduled_services(no_mail | {"PLANECO_LEVERS_JOB_SCHEDULES": '{"reference-data": ""}'}) == [
        "actions"
    ]
    assert scheduled_services(no_mail | {"PLANECO_ACTIONS_JOB_SCHEDULES": '{"sync-aids": ""}'}) == ["levers"]
    with pytest.raises(JobConfigError, match="'sync' is not a job of actions"):
        scheduled_services({"PLANECO_ACTIONS_JOB_SCHEDULES": '{"sync": "0 3 * * *"}'})
