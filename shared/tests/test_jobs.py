"""Jobs (planeco_shared.jobs) on the selected database: run records (success, failure with its errors
while its work rolls back, bounded errors), one run at a time per job (in this process, in another
process, across PostgreSQL sessions), stale records, arguments, schedules and the scheduler loop on a
clock the test moves."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping

import pytest
import pytest_asyncio
from sqlalchemy import String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from planeco_shared.dataversion import DataVersionMixin
from planeco_shared.jobs import (
    Job,
    JobAlreadyRunning,
    JobConfigError,
    JobContext,
    JobOutcome,
    JobRegistry,
    JobRunMixin,
    JobTrigger,
    Parameter,
    begin_run,
    run_job,
)
from planeco_shared.jobs.locks import JobLock, lock_key
from planeco_shared.jobs.registry import MAX_KEPT_ERRORS
from planeco_shared.jobs.schedule import Scheduler, next_fire, parse_schedule
from planeco_shared.models import new_metadata
from planeco_shared.problems import FieldError, NotFound, UnprocessableEntity
from planeco_shared.runtime import ServiceRuntime
from planeco_shared.settings import ServiceSettings
from planeco_shared.testing import fresh_database_url


class Base(DeclarativeBase):
    metadata = new_metadata()


class DataVersion(DataVersionMixin, Base):
    __tablename__ = "data_version"


class JobRun(JobRunMixin, Base):
    __tablename__ = "job_runs"


class Thing(Base):
    """What the test jobs write, to see whether their work was committed or rolled back."""

    __tablename__ = "things"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    written_by: Mapped[str] = mapped_column(String(200))


gates: dict[str, asyncio.Event] = {}
started: dict[str, asyncio.Event] = {}


async def write_and_count(context: JobContext) -> Mapping[str, int]:
    async with context.transaction() as session:
        session.add(Thing(name=f"ok-{context.run_id}", written_by=context.principal.subject))
    context.count("written")
    context.message = "wrote one thing"
    return {"read": 3}


async def fail_after_writing(context: JobContext) -> None:
    context.error("row 7 is odd", item="row 7", type="odd")
    async with context.transaction() as session:
        session.add(Thing(name=f"failed-{context.run_id}", written_by=context.principal.subject))
        await session.flush()
        raise UnprocessableEntity(
            "The file has errors",
            errors=[FieldError(loc=["row", 3, "code"], msg="unknown code", type="unknown_code")],
        )


async def crash(context: JobContext) -> None:
    raise RuntimeError("SELECT secret FROM somewhere")


async def many_errors(context: JobContext) -> None:
    for row in range(MAX_KEPT_ERRORS + 50):
        context.error("bad", item=f"row {row}")


async def wait_for_gate(context: JobContext) -> None:
    started[context.job.name].set()
    await gates[context.job.name].wait()


JOBS = JobRegistry(
    "testsvc",
    JobRun,
    [
        Job("write", "writes a thing", write_and_count),
        Job("fail", "fails after writing", fail_after_writing),
        Job("crash", "raises an unexpected error", crash),
        Job("many-errors", "records too many errors", many_errors),
        Job("slow-a", "waits for the test", wait_for_gate),
        Job("slow-b", "waits for the test", wait_for_gate, schedule="*/5 * * * *"),
        Job("takes-file", "needs a file", write_and_count, parameters=(Parameter("file", "a file", True),)),
    ],
)


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield fresh_database_url("jobs", tmp_path_factory.mktemp("jobs"))


@pytest_asyncio.fixture
async def runtime(database_url: str) -> AsyncIterator[ServiceRuntime]:
    """A real runtime (commits are real: this database is the module's own)."""
    async with ServiceRuntime.open("testsvc", ServiceSettings(database_url=database_url)) as runtime:
        async with runtime.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        yield runtime


async def stored(runtime: ServiceRuntime, run_id: uuid.UUID) -> JobRun:
    async with runtime.transaction() as session:
        run = await session.get(JobRun, run_id)
    assert run is not None
    return run


async def things(runtime: ServiceRuntime, prefix: str) -> list[Thing]:
    async with runtime.transaction() as session:
        return list((await session.execute(select(Thing).where(Thing.name.startswith(prefix)))).scalars())


def run(runtime: ServiceRuntime, name: str, **arguments: str) -> asyncio.Task[object]:
    return asyncio.create_task(
        run_job(runtime, JOBS, name, trigger=JobTrigger.cli, started_by="test", arguments=arguments)
    )


async def test_a_successful_run_is_recorded_with_its_counts(runtime: ServiceRuntime) -> None:
    result = await run_job(runtime, JOBS, "write", trigger=JobTrigger.api, started_by="apikey:7")
    assert result.outcome is JobOutcome.succeeded
    assert result.counts == {"written": 1, "read": 3}
    record = await stored(runtime, result.run_id)
    assert (record.job, record.trigger, record.started_by, record.outcome) == (
        "write",
        "api",
        "apikey:7",
        "succeeded",
    )
    assert record.counts == {"written": 1, "read": 3}
    assert record.errors == []
    assert record.message == "wrote one thing"
    assert record.finished_at is not None
    assert record.finished_at >= record.started_at
    # The job's writes are committed and attributed to the job, not to who started it.
    (thing,) = await things(runtime, f"ok-{result.run_id}")
    assert thing.written_by == "job:testsvc:write"


async def test_a_failed_run_is_recorded_with_its_errors_and_its_work_rolled_back(
    runtime: ServiceRuntime,
) -> None:
    result = await run_job(runtime, JOBS, "fail", trigger=JobTrigger.schedule, started_by="scheduler")
    assert result.outcome is JobOutcome.failed
    record = await stored(runtime, result.run_id)
    assert record.outcome == "failed"
    assert record.message == "The file has errors"
    assert record.errors == [
        {"item": "row 7", "message": "row 7 is odd", "type": "odd"},
        {"item": "row 3 code", "message": "unknown code", "type": "unknown_code"},
    ]
    assert record.counts == {"errors": 2}
    assert record.finished_at is not None
    assert await things(runtime, f"failed-{result.run_id}") == []


async def test_an_unexpected_error_is_recorded_without_its_text(runtime: ServiceRuntime) -> None:
    result = await run_job(runtime, JOBS, "crash", trigger=JobTrigger.cli, started_by="test")
    record = await stored(runtime, result.run_id)
    assert record.outcome == "failed"
    assert record.message is not None
    assert "RuntimeError" in record.message
    assert str(result.run_id) in record.message
    assert "secret" not in record.message


async def test_a_run_cancelled_by_a_stopping_process_is_recorded_as_interrupted(
    runtime: ServiceRuntime,
) -> None:
    gates["slow-a"], started["slow-a"] = asyncio.Event(), asyncio.Event()
    task = run(runtime, "slow-a")
    await started["slow-a"].wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with runtime.transaction() as session:
        (record,) = (
            await session.execute(
                select(JobRun).where(JobRun.job == "slow-a").order_by(JobRun.started_at.desc()).limit(1)
            )
        ).scalars()
    assert (record.outcome, record.message) == (
        "failed",
        "interrupted: the process was stopped during the run",
    )
    gates["slow-a"].set()
    assert (await run_job(runtime, JOBS, "slow-a", trigger=JobTrigger.cli, started_by="t")).outcome is (
        JobOutcome.succeeded
    )  # the lock was released


async def test_a_file_argument_that_cannot_be_read_fails_the_run_naming_it(runtime: ServiceRuntime) -> None:
    async def read(context: JobContext) -> None:
        await context.read_file("file")

    registry = JobRegistry(
        "testsvc", JobRun, [Job("read", "reads", read, parameters=(Parameter("file", "f", True),))]
    )
    result = await run_job(
        runtime,
        registry,
        "read",
        trigger=JobTrigger.cli,
        started_by="t",
        arguments={"file": "/nonexistent/x.csv"},
    )
    assert result.outcome is JobOutcome.failed
    assert result.message == "Cannot read /nonexistent/x.csv: No such file or directory"
    assert result.errors == [{"item": "arguments file", "message": "cannot read the file", "type": "file"}]


async def test_item_errors_are_bounded_and_counted(runtime: ServiceRuntime) -> None:
    result = await run_job(runtime, JOBS, "many-errors", trigger=JobTrigger.cli, started_by="test")
    record = await stored(runtime, result.run_id)
    assert record.outcome == "succeeded"  # item errors alone do not fail a run
    assert len(record.errors) == MAX_KEPT_ERRORS
    assert record.counts == {"errors": MAX_KEPT_ERRORS + 50, "errors_not_kept": 50}


async def test_a_second_run_of_the_same_job_is_skipped_while_different_jobs_run_together(
    runtime: ServiceRuntime,
) -> None:
    gates.update({"slow-a": asyncio.Event(), "slow-b": asyncio.Event()})
    started.update({"slow-a": asyncio.Event(), "slow-b": asyncio.Event()})
    first = run(runtime, "slow-a")
    await started["slow-a"].wait()
    other = run(runtime, "slow-b")
    await started["slow-b"].wait()  # slow-b runs although slow-a does: different locks

    second = await run_job(runtime, JOBS, "slow-a", trigger=JobTrigger.schedule, started_by="scheduler")
    assert second.outcome is JobOutcome.skipped
    assert second.message is not None
    assert "already running" in second.message
    assert "started by test" in second.message
    skipped = await stored(runtime, second.run_id)
    assert (skipped.outcome, skipped.trigger, skipped.started_by) == ("skipped", "schedule", "scheduler")
    assert skipped.finished_at is not None
    with pytest.raises(JobAlreadyRunning):  # what the API turns into a 409
        await begin_run(runtime, JOBS, "slow-a", trigger=JobTrigger.api, started_by="apikey:1")

    gates["slow-a"].set()
    gates["slow-b"].set()
    results = await asyncio.gather(first, other)
    assert [r.outcome for r in results] == [JobOutcome.succeeded, JobOutcome.succeeded]  # type: ignore[attr-defined]
    # Released: the job runs again.
    again = await run_job(runtime, JOBS, "slow-a", trigger=JobTrigger.cli, started_by="test")
    assert again.outcome is JobOutcome.succeeded


async def test_another_process_holding_the_lock_makes_a_run_skip(
    runtime: ServiceRuntime, database_url: str
) -> None:
    """A second process (SQLite: the flock; PostgreSQL: another session's advisory lock)."""
    holder = textwrap.dedent(
        f"""
        import asyncio, sys
        from planeco_shared.database import create_engine
        from planeco_shared.jobs.locks import JobLock

        async def main():
            engine = create_engine({database_url!r})
            lock = JobLock(engine, "testsvc", "write")
            print("held" if await lock.acquire() else "refused", flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            await lock.release()
            await engine.dispose()

        asyncio.run(main())
        """
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", holder, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        assert process.stdin is not None
        assert (await process.stdout.readline()).strip() == b"held"
        result = await run_job(runtime, JOBS, "write", trigger=JobTrigger.cli, started_by="test")
        assert result.outcome is JobOutcome.skipped
        process.stdin.write(b"\n")
        await process.stdin.drain()
        assert await asyncio.wait_for(process.wait(), timeout=30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert (await run_job(runtime, JOBS, "write", trigger=JobTrigger.cli, started_by="t")).outcome is (
        JobOutcome.succeeded
    )


async def test_the_lock_is_per_job_and_released(runtime: ServiceRuntime) -> None:
    one, same, other = (
        JobLock(runtime.engine, "testsvc", "x"),
        JobLock(runtime.engine, "testsvc", "x"),
        JobLock(runtime.engine, "testsvc", "y"),
    )
    assert await one.acquire()
    assert not await same.acquire()
    assert await other.acquire()
    await one.release()
    assert await same.acquire()
    await same.release()
    await other.release()
    await other.release()  # idempotent


def test_lock_keys_are_stable_64_bit_and_distinct() -> None:
    key = lock_key("levers", "reference-data")
    assert key == lock_key("levers", "reference-data")
    assert -(2**63) <= key < 2**63
    assert len({lock_key(s, j) for s in ("levers", "actions") for j in ("a", "b", "reference-data")}) == 6


async def test_a_running_record_left_by_a_dead_process_is_closed_by_the_next_run(
    runtime: ServiceRuntime,
) -> None:
    orphan = uuid.uuid4()
    async with runtime.transaction() as session:
        session.add(
            JobRun(
                id=orphan, job="write", trigger="cli", started_by="killed", outcome="running", arguments={}
            )
        )
    await run_job(runtime, JOBS, "write", trigger=JobTrigger.cli, started_by="test")
    record = await stored(runtime, orphan)
    assert record.outcome == "failed"
    assert record.message is not None
    assert "interrupted" in record.message


async def test_unknown_jobs_and_wrong_arguments_are_refused_before_any_record(
    runtime: ServiceRuntime,
) -> None:
    async with runtime.transaction() as session:
        before = (await session.execute(select(func.count()).select_from(JobRun))).scalar_one()
    with pytest.raises(NotFound):
        await run_job(runtime, JOBS, "nope", trigger=JobTrigger.cli, started_by="test")
    with pytest.raises(UnprocessableEntity) as missing:
        await run_job(runtime, JOBS, "takes-file", trigger=JobTrigger.cli, started_by="test")
    assert [e.loc for e in missing.value.errors or []] == [["arguments", "file"]]
    with pytest.raises(UnprocessableEntity):
        await run_job(runtime, JOBS, "write", trigger=JobTrigger.cli, started_by="test", arguments={"x": "1"})
    async with runtime.transaction() as session:
        assert (await session.execute(select(func.count()).select_from(JobRun))).scalar_one() == before
    result = await run_job(
        runtime, JOBS, "takes-file", trigger=JobTrigger.cli, started_by="test", arguments={"file": "a.csv"}
    )
    assert (await stored(runtime, result.run_id)).arguments == {"file": "a.csv"}


# --- schedules -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("expression", ["*/5 * * * *", "0 3 * * *", " 17  3 * * 1-5 ", "@daily", "@hourly"])
def test_valid_schedules(expression: str) -> None:
    assert parse_schedule(expression, where="job x") == " ".join(expression.split())


@pytest.mark.parametrize("expression", ["", "61 * * * *", "* * * *", "0 0 3 * * *", "@reboot", "daily"])
def test_invalid_schedules_name_where_they_come_from(expression: str) -> None:
    with pytest.raises(ValueError, match=r"job x: .* is not a cron schedule"):
        parse_schedule(expression, where="job x")


def test_next_fire_times() -> None:
    at = dt.datetime(2026, 3, 1, 3, 17, tzinfo=dt.UTC)
    assert next_fire("17 3 * * *", at) == dt.datetime(2026, 3, 2, 3, 17, tzinfo=dt.UTC)  # strictly after
    assert next_fire("*/5 * * * *", at) == dt.datetime(2026, 3, 1, 3, 20, tzinfo=dt.UTC)
    paris = dt.timezone(dt.timedelta(hours=1))
    assert next_fire("0 * * * *", at.astimezone(paris)) == dt.datetime(2026, 3, 1, 4, 0, tzinfo=dt.UTC)


def test_schedule_settings_override_defaults_and_bad_ones_are_all_named() -> None:
    assert JOBS.schedules({})["slow-b"] == "*/5 * * * *"
    assert JOBS.schedules({})["write"] is None
    effective = JOBS.schedules({"slow-b": "", "write": "0 4 * * *"})
    assert (effective["slow-b"], effective["write"]) == (None, "0 4 * * *")
    with pytest.raises(JobConfigError) as bad:
        JOBS.schedules({"nope": "* * * * *", "write": "every day", "takes-file": "0 1 * * *"})
    message = str(bad.value)
    assert "'nope' is not a job of testsvc" in message
    assert "job write: 'every day' is not a cron schedule" in message
    assert "'takes-file' needs arguments" in message


def test_a_job_with_a_required_parameter_cannot_have_a_default_schedule() -> None:
    with pytest.raises(ValueError, match="cannot have a schedule"):
        JobRegistry("x", JobRun, [Job("f", "f", crash, "* * * * *", (Parameter("file", "f", True),))])
    with pytest.raises(ValueError, match="not kebab-case"):
        Job("Bad_Name", "x", crash)


class FakeClock:
    """Time moves only when the scheduler sleeps: it jumps to the moment asked."""

    def __init__(self, start: dt.datetime) -> None:
        self.current = start
        self.slept_until: list[dt.datetime] = []

    def now(self) -> dt.datetime:
        return self.current

    async def sleep_until(self, moment: dt.datetime) -> None:
        await asyncio.sleep(0)  # let what was started before run at the time it was started
        self.slept_until.append(moment)
        self.current = max(self.current, moment)


async def test_the_scheduler_fires_each_job_at_its_cron_times() -> None:
    clock = FakeClock(dt.datetime(2026, 3, 1, 0, 2, tzinfo=dt.UTC))
    fired: list[tuple[str, dt.datetime]] = []

    async def fire(name: str) -> None:
        fired.append((name, clock.now()))

    scheduler = Scheduler({"often": "*/5 * * * *", "hourly": "0 * * * *", "off": None}, fire, clock=clock)
    assert set(scheduler.next_fires) == {"often", "hourly"}
    for _ in range(13):
        await scheduler.tick()
    await scheduler.drain()
    minute = dt.timedelta(minutes=1)
    start = dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC)
    # 13 ticks: 00:05 … 01:05, the hourly job firing in the same tick as 01:00.
    assert [t for n, t in fired if n == "often"] == [start + 5 * k * minute for k in range(1, 14)]
    assert [t for n, t in fired if n == "hourly"] == [start + 60 * minute]


async def test_the_scheduler_leaves_out_a_fire_while_the_previous_one_runs_and_does_not_catch_up() -> None:
    clock = FakeClock(dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC))
    release = asyncio.Event()
    fired: list[dt.datetime] = []

    async def fire(name: str) -> None:
        fired.append(clock.now())
        await release.wait()

    scheduler = Scheduler({"often": "*/5 * * * *"}, fire, clock=clock)
    assert await scheduler.tick() == ["often"]  # 00:05, still running at
    assert await scheduler.tick() == []  # 00:10: left out
    release.set()
    await scheduler.drain()
    clock.current = dt.datetime(2026, 3, 1, 1, 2, tzinfo=dt.UTC)  # a long pause (suspend)
    assert await scheduler.tick() == ["often"]  # once, for the 00:15 that was due, not 10 missed times
    assert scheduler.next_fires["often"] == dt.datetime(2026, 3, 1, 1, 5, tzinfo=dt.UTC)
    await scheduler.drain()
    assert fired == [
        dt.datetime(2026, 3, 1, 0, 5, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 1, 1, 2, tzinfo=dt.UTC),
    ]
