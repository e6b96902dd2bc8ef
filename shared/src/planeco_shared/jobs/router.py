"""`/api/v1/jobs/<service>/…`: the jobs of the service, their runs, and starting a run.

Admin only, reads included: jobs are national operations, and their records hold the row-level errors of
imports (file contents) that no région-scoped role needs.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Response, status

from planeco_shared.database import SessionDep
from planeco_shared.identity import Principal, RequireRole, require_authenticated
from planeco_shared.jobs import repository
from planeco_shared.jobs.models import JobOutcome, JobTrigger
from planeco_shared.jobs.registry import JobRegistry
from planeco_shared.jobs.runner import begin_run
from planeco_shared.jobs.schedule import next_fire
from planeco_shared.jobs.schemas import JobParameterRead, JobRead, JobRunRead, JobRunStart
from planeco_shared.models import utcnow
from planeco_shared.pagination import Page, PageDep, paginate_into
from planeco_shared.problems import NotFound, problem_responses
from planeco_shared.runtime import RuntimeDep
from planeco_shared.text import FreeText

Admin = Annotated[Principal, Depends(RequireRole())]


def jobs_router(registry: JobRegistry, schedules: dict[str, str | None]) -> APIRouter:
    service = registry.service
    model = registry.run_model
    # Operation ids name the service: every service mounts the same endpoints, and the merged contract
    # needs them unique (listLeversJobs, startActionsJobRun…).
    named = service.capitalize()
    router = APIRouter(
        prefix=f"/jobs/{service}",
        tags=["jobs"],
        dependencies=[Depends(require_authenticated)],
        responses=problem_responses(401, 403),
    )

    @router.get(
        "",
        response_model=Page[JobRead],
        summary=f"The {service} service's jobs",
        operation_id=f"list{named}Jobs",
    )
    async def list_jobs(session: SessionDep, _admin: Admin, page: PageDep) -> Page[JobRead]:
        last = await repository.last_runs(session, model)
        now = utcnow()
        jobs = [
            JobRead(
                name=job.name,
                description=job.description,
                schedule=schedules.get(job.name),
                next_run_at=next_fire(expression, now) if (expression := schedules.get(job.name)) else None,
                parameters=[
                    JobParameterRead(name=p.name, description=p.description, required=p.required)
                    for p in job.parameters
                ],
                last_run=JobRunRead.model_validate(last[job.name]) if job.name in last else None,
            )
            for job in registry
        ]
        return Page.of_all(jobs, page)

    @router.get(
        "/runs",
        response_model=Page[JobRunRead],
        summary=f"Runs of the {service} service's jobs, newest first",
        operation_id=f"list{named}JobRuns",
    )
    async def list_runs(
        session: SessionDep,
        _admin: Admin,
        page: PageDep,
        job: Annotated[FreeText | None, Query(max_length=80, description="Only this job's runs")] = None,
        outcome: Annotated[JobOutcome | None, Query(description="Only runs with this outcome")] = None,
    ) -> Page[JobRunRead]:
        statement = repository.runs_statement(model, job=job, outcome=outcome)
        return await paginate_into(session, statement, page, JobRunRead.model_validate)

    @router.get(
        "/runs/{run_id}",
        response_model=JobRunRead,
        summary="One run",
        responses=problem_responses(404),
        operation_id=f"get{named}JobRun",
    )
    async def get_run(run_id: uuid.UUID, session: SessionDep, _admin: Admin) -> JobRunRead:
        run = await repository.get_run(session, model, run_id)
        if run is None:
            raise NotFound(f"No run {run_id} of a {service} job")
        return JobRunRead.model_validate(run)

    @router.post(
        "/runs",
        response_model=JobRunRead,
        status_code=status.HTTP_202_ACCEPTED,
        summary="Start a run now",
        description="Recorded as `running` and started in the background; follow it at the `Location`. "
        "409 while another run of the job is in progress (on any replica); 422 for a job that needs "
        "arguments (run it with `planeco <service> run-job`).",
        responses=problem_responses(404, 409, 422),
        operation_id=f"start{named}JobRun",
    )
    async def start_run(
        body: JobRunStart,
        runtime: RuntimeDep,
        principal: Admin,
        background: BackgroundTasks,
        response: Response,
    ) -> JobRunRead:
        started = await begin_run(
            runtime, registry, body.job, trigger=JobTrigger.api, started_by=principal.subject, arguments={}
        )
        # Runs after the response is sent, in this process; the lock is held until it ends.
        background.add_task(started.execute)
        response.headers["Location"] = f"/api/v1/jobs/{service}/runs/{started.run_id}"
        async with runtime.transaction() as session:
            run = await repository.get_run(session, model, started.run_id)
        return JobRunRead.model_validate(run)

    return router
