"""The calendar view of a roadmap: per year, the actions running that year (their start to end date, or
their phases and milestones when they have no dates of their own) with the phases and milestones that fall
in it. Actions with no date at all are listed apart (`undated`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from planeco_actions.actions.models import Action
from planeco_actions.roadmaps.schemas import (
    CalendarAction,
    CalendarPhase,
    CalendarRead,
    CalendarYear,
    RoadmapScope,
)


def _phases(action: Action) -> list[CalendarPhase]:
    return [
        CalendarPhase(
            kind=phase["kind"],
            label=phase["label"],
            start_date=dt.date.fromisoformat(phase["start_date"]),
            end_date=dt.date.fromisoformat(phase["end_date"]) if phase.get("end_date") else None,
        )
        for phase in action.phases
    ]


def _span(action: Action, phases: list[CalendarPhase]) -> tuple[dt.date, dt.date] | None:
    dates = [day for day in (action.start_date, action.end_date) if day is not None]
    dates += [phase.start_date for phase in phases] + [phase.end_date for phase in phases if phase.end_date]
    if not dates:
        return None
    return (action.start_date or min(dates), action.end_date or max(dates))


def _entry(action: Action, phases: list[CalendarPhase]) -> dict[str, Any]:
    return {
        "action_id": action.id,
        "title": action.title,
        "status": action.status,
        "lever_id": action.lever_id,
        "territory_level": action.territory_level,
        "territory_code": action.territory_code,
        "start_date": action.start_date,
        "end_date": action.end_date,
        "phases": phases,
    }


def build(region: str, scope: RoadmapScope, actions: Sequence[Action]) -> CalendarRead:
    years: dict[int, list[CalendarAction]] = {}
    undated: list[CalendarAction] = []
    for action in actions:
        phases = _phases(action)
        span = _span(action, phases)
        if span is None:
            undated.append(CalendarAction(**_entry(action, phases)))
            continue
        for year in range(span[0].year, span[1].year + 1):
            first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
            within = [p for p in phases if p.start_date <= last and (p.end_date or p.start_date) >= first]
            years.setdefault(year, []).append(CalendarAction(**_entry(action, within)))
    return CalendarRead(
        region=region,
        scope=scope,
        years=[CalendarYear(year=year, actions=items) for year, items in sorted(years.items())],
        undated=undated,
    )
