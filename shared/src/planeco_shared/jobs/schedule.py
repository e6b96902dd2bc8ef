"""Cron schedules of the jobs, and the small scheduler loop of the local run and docker-compose.

In Kubernetes the schedule is the CronJob's (`planeco <svc> run-job NAME`, concurrencyPolicy Forbid); where
there is no cluster, `planeco <svc> scheduler` (and `planeco dev up`) fire the same jobs from the same cron
expressions, computed by croniter. Expressions are the 5 fields of cron and Kubernetes (minute hour
day-of-month month day-of-week) or a macro (@hourly, @daily…), always in UTC.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from croniter import croniter

from planeco_shared.logging import get_logger

logger = get_logger(__name__)

# Kubernetes CronJob accepts these macros and 5-field expressions; croniter would also take a seconds or a
# year field, which a CronJob would refuse: one syntax for both ways of running a job.
MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})


def parse_schedule(expression: str, *, where: str) -> str:
    """The expression, stripped, if it is a valid schedule; ValueError naming `where` otherwise."""
    stripped = " ".join(expression.split())
    fields = stripped.split(" ")
    if stripped in MACROS or (len(fields) == 5 and croniter.is_valid(stripped)):
        return stripped
    raise ValueError(
        f"{where}: {expression!r} is not a cron schedule (5 fields: minute hour day-of-month month "
        "day-of-week, e.g. '*/5 * * * *' or '0 3 * * *', or @hourly/@daily/@weekly/@monthly/@yearly)"
    )


def next_fire(expression: str, after: dt.datetime) -> dt.datetime:
    """The first time strictly after `after` (aware, UTC) that the schedule fires."""
    if after.tzinfo is None:
        raise ValueError("naive datetime given to next_fire")
    fire: dt.datetime = croniter(expression, after.astimezone(dt.UTC)).get_next(dt.datetime)
    return fire.astimezone(dt.UTC)


class Clock(Protocol):
    """What the scheduler knows of time: tests give it a clock they move by hand."""

    def now(self) -> dt.datetime: ...

    async def sleep_until(self, moment: dt.datetime) -> None: ...


class SystemClock:
    # Sleeps at most this long at a time, so that a jump of the wall clock (suspend, NTP step) is noticed.
    MAX_SLEEP_SECONDS = 60.0

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    async def sleep_until(self, moment: dt.datetime) -> None:
        # Polls the wall clock on purpose: nothing else would wake us when it jumps.
        while (remaining := (moment - self.now()).total_seconds()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(min(remaining, self.MAX_SLEEP_SECONDS))


class Scheduler:
    """Fires `fire(job_name)` at each job's cron times. A fire that comes while the job's previous fire is
    still running is left out (the run lock would skip it anyway); missed times are not caught up: after a
    pause the next fire is computed from now, as a CronJob with no startingDeadlineSeconds would."""

    def __init__(
        self,
        schedules: Mapping[str, str | None],
        fire: Callable[[str], Awaitable[object]],
        *,
        clock: Clock | None = None,
    ) -> None:
        self.schedules = {name: expr for name, expr in schedules.items() if expr}
        self.fire = fire
        self.clock = clock or SystemClock()
        self._running: dict[str, asyncio.Task[object]] = {}
        start = self.clock.now()
        self.next_fires = {name: next_fire(expr, start) for name, expr in self.schedules.items()}

    async def tick(self) -> list[str]:
        """Wait for the next due time, start what is due; returns the names started."""
        if not self.next_fires:
            raise RuntimeError("no job has a schedule")
        await self.clock.sleep_until(min(self.next_fires.values()))
        now = self.clock.now()
        started = []
        for name, due in sorted(self.next_fires.items()):
            if due > now:
                continue
            self.next_fires[name] = next_fire(self.schedules[name], now)
            previous = self._running.get(name)
            if previous is not None and not previous.done():
                logger.warning("job still running at its next schedule time; not started", job=name)
                continue
            self._running[name] = asyncio.create_task(self._fire(name))
            started.append(name)
        return started

    async def _fire(self, name: str) -> object:
        try:
            return await self.fire(name)
        except Exception:
            # run_job records failures itself; this only keeps the loop alive if recording failed too.
            logger.exception("scheduled job could not run", job=name)
            return None

    async def run_forever(self) -> None:
        while True:
            await self.tick()

    async def drain(self) -> None:
        """Wait for the runs started so far (cancelled ones are recorded as failed by run_job)."""
        tasks = [t for t in self._running.values() if not t.done()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
