"""All SQL of the aids module: the catalogue, its staging table, the sync runs."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, case, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from planeco_actions.aids.models import (
    AID_COLUMNS,
    Aid,
    AidLeverMapping,
    AidPerimeter,
    AidPerimeterTerritory,
    AidStaging,
)
from planeco_actions.aids.parsing import fold
from planeco_actions.aids.schemas import AidCoverage, AidFilters, AidRead, AidSort
from planeco_actions.db import JobRun
from planeco_shared.jobs.repository import runs_statement
from planeco_shared.models import UTCDateTime
from planeco_shared.upsert import upsert

if TYPE_CHECKING:
    from planeco_actions.aids.perimeters import TerritoryScope

ENTITY = "aid"
SYNC_JOB = "sync-aids"
CHUNK = 500  # ids per IN (…): well under SQLite's and asyncpg's parameter limits
# What AidRead shows (the `updated_at` column is its `synced_at`).
LIST_COLUMNS = [
    getattr(Aid, name)
    for name in (
        *(n for n in AidRead.model_fields if n not in ("synced_at", "lever_ids")),
        "updated_at",
        "lever_rules",
    )
]


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class AidRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # The catalogue

    async def get(self, aid_id: int) -> Aid | None:
        return await self.session.get(Aid, aid_id)

    async def get_many(self, ids: Sequence[int]) -> list[Aid]:
        result = await self.session.execute(select(Aid).where(Aid.id.in_(ids)).order_by(Aid.id))
        return list(result.scalars())

    async def live_count(self) -> int:
        count: int = await self.session.scalar(select(func.count()).where(Aid.is_live)) or 0
        return count

    def list_statement(self, filters: AidFilters, scope: TerritoryScope | None = None) -> Select[Any]:
        sort = {
            AidSort.id: Aid.id,
            AidSort.name: Aid.name,
            AidSort.submission_deadline: Aid.submission_deadline,
            AidSort.date_updated: Aid.date_updated,
        }[filters.sort]
        order = sort.desc() if filters.descending else sort.asc()
        statement = (
            select(Aid)
            .options(load_only(*LIST_COLUMNS))  # not the texts or the raw record: a list shows none of them
            .where(Aid.is_live.is_(filters.live))
            .order_by(order, Aid.id)
        )
        if filters.audience:
            statement = statement.where(
                or_(*(Aid.audience_slugs.like(_like(f"|{a.value}|"), escape="\\") for a in filters.audience))
            )
        if filters.open_on is not None:
            day = filters.open_on
            statement = statement.where(
                or_(Aid.start_date.is_(None), Aid.start_date <= day),
                or_(Aid.submission_deadline.is_(None), Aid.submission_deadline >= day),
            )
        if filters.q:
            for word in fold(filters.q).split():
                statement = statement.where(Aid.search_text.like(_like(word), escape="\\"))
        if filters.lever_id:
            statement = statement.where(
                or_(*(Aid.lever_keys.like(_like(f"|{lever}|"), escape="\\") for lever in filters.lever_id))
            )
        if scope is not None:
            statement = statement.where(self.available_to(scope, whole=filters.coverage is AidCoverage.whole))
        return statement

    def funding_statement(
        self, lever_ids: Sequence[str], scope: TerritoryScope, audiences: Sequence[str]
    ) -> Select[Any]:
        """Live aids serving one of `lever_ids`, available to the territory (and, if `audiences`, targeting
        one of them or no one in particular): those covering the whole territory first, then the soonest
        deadline (none last), then id."""
        whole = self.available_to(scope, whole=True)
        statement = (
            select(Aid)
            .options(load_only(*LIST_COLUMNS, Aid.audience_slugs))
            .where(
                Aid.is_live,
                or_(*(Aid.lever_keys.like(_like(f"|{lever}|"), escape="\\") for lever in lever_ids)),
                self.available_to(scope, whole=False),
            )
            .order_by(
                case((whole, 0), else_=1),
                Aid.submission_deadline.is_(None),
                Aid.submission_deadline,
                Aid.id,
            )
        )
        if audiences:
            statement = statement.where(
                or_(
                    Aid.audience_slugs == "",
                    *(Aid.audience_slugs.like(_like(f"|{a}|"), escape="\\") for a in audiences),
                )
            )
        return statement

    async def covering_whole(self, ids: Sequence[int], scope: TerritoryScope) -> set[int]:
        statement = select(Aid.id).where(Aid.id.in_(list(ids)), self.available_to(scope, whole=True))
        return set((await self.session.execute(statement)).scalars())

    # The lever mapping

    async def lever_mapping(self) -> AidLeverMapping | None:
        return await self.session.get(AidLeverMapping, 1)

    async def lever_inputs(self) -> AsyncIterator[list[tuple[int, list[str], str, dict[str, Any]]]]:
        """(id, categories, search_text, lever_rules) of every aid, CHUNK rows at a time."""
        ids = list((await self.session.execute(select(Aid.id).order_by(Aid.id))).scalars())
        columns = (Aid.id, Aid.categories, Aid.search_text, Aid.lever_rules)
        for start in range(0, len(ids), CHUNK):
            statement = select(*columns).where(Aid.id.in_(ids[start : start + CHUNK])).order_by(Aid.id)
            yield [(row[0], row[1], row[2], row[3]) for row in await self.session.execute(statement)]

    async def set_levers(self, updates: Sequence[dict[str, Any]]) -> None:
        """By primary key, one executemany (`updates`: id, lever_rules, lever_keys)."""
        if updates:
            await self.session.execute(update(Aid), list(updates))

    @staticmethod
    def available_to(scope: TerritoryScope, *, whole: bool) -> Any:
        """The aid's perimeter, resolved, contains the territory (national, its zone, a perimeter that
        contains it, the territory itself) or, unless `whole`, lies inside it or overlaps it."""
        perimeter = AidPerimeter
        containers = [*scope.containers, (scope.level.value, scope.code)]
        if not whole:
            containers += scope.overlaps
        covers = [
            perimeter.level.in_(["national", scope.zone.value]),
            *(and_(perimeter.level == level, perimeter.code == code) for level, code in containers),
        ]
        if not whole:
            covers.append(
                exists().where(
                    AidPerimeterTerritory.perimeter_id == perimeter.id,
                    AidPerimeterTerritory.level == scope.level.value,
                    AidPerimeterTerritory.code == scope.code,
                )
            )
        return exists().where(
            perimeter.name == Aid.perimeter,
            perimeter.scale == Aid.perimeter_scale,
            perimeter.status == "resolved",
            or_(*covers),
        )

    # Perimeters

    async def unknown_perimeters(self) -> list[tuple[str, str]]:
        """The (name, scale) of live aids' perimeters not resolved yet, in order."""
        known = exists().where(AidPerimeter.name == Aid.perimeter, AidPerimeter.scale == Aid.perimeter_scale)
        statement = (
            select(Aid.perimeter, Aid.perimeter_scale)
            .where(Aid.is_live, Aid.perimeter.is_not(None), Aid.perimeter_scale.is_not(None), ~known)
            .distinct()
            .order_by(Aid.perimeter_scale, Aid.perimeter)
        )
        return [(str(row[0]), str(row[1])) for row in await self.session.execute(statement)]

    async def unresolved_perimeters(self) -> list[tuple[AidPerimeter, int]]:
        """Unresolved perimeters of live aids, with how many live aids have each."""
        aids = func.count(Aid.id)
        statement = (
            select(AidPerimeter, aids)
            .join(Aid, and_(Aid.perimeter == AidPerimeter.name, Aid.perimeter_scale == AidPerimeter.scale))
            .where(Aid.is_live, AidPerimeter.status == "unresolved")
            .group_by(AidPerimeter.id)
            .order_by(AidPerimeter.scale, AidPerimeter.name, AidPerimeter.id)
        )
        return [(row[0], row[1]) for row in await self.session.execute(statement)]

    # A sync: staging, then applying a completed scan

    async def clear_staging(self, run_id: uuid.UUID | None = None) -> None:
        statement = delete(AidStaging)
        if run_id is not None:
            statement = statement.where(AidStaging.run_id == run_id)
        await self.session.execute(statement)

    async def stage(self, run_id: uuid.UUID, rows: Sequence[dict[str, Any]]) -> None:
        staged = [{"run_id": run_id, "aid_id": row["id"]} | {c: row[c] for c in AID_COLUMNS} for row in rows]
        await upsert(self.session, AidStaging, staged, key=["run_id", "aid_id"])

    def _staged(self, run_id: uuid.UUID) -> Any:
        return AidStaging.run_id == run_id

    def _known(self) -> Any:
        return exists().where(Aid.id == AidStaging.aid_id)

    async def new_aids(self, run_id: uuid.UUID) -> list[tuple[int, str, dt.datetime | None]]:
        statement = (
            select(AidStaging.aid_id, AidStaging.name, AidStaging.date_updated)
            .where(self._staged(run_id), ~self._known())
            .order_by(AidStaging.aid_id)
        )
        return [(row[0], row[1], row[2]) for row in await self.session.execute(statement)]

    async def insert_new(self, run_id: uuid.UUID, now: dt.datetime) -> None:
        moment = literal(now, UTCDateTime())
        columns = [AidStaging.aid_id, *(getattr(AidStaging, c) for c in AID_COLUMNS)]
        source = select(*columns, literal(True), literal(None, UTCDateTime()), moment, moment).where(
            self._staged(run_id), ~self._known()
        )
        target = ["id", *AID_COLUMNS, "is_live", "delisted_at", "created_at", "updated_at"]
        await self.session.execute(insert(Aid).from_select(target, source))

    async def changed_ids(self, run_id: uuid.UUID) -> list[int]:
        """Staged aids that differ from the catalogue's: another `date_updated` or content, or not live."""
        statement = (
            select(AidStaging.aid_id)
            .join(Aid, Aid.id == AidStaging.aid_id)
            .where(
                self._staged(run_id),
                or_(
                    Aid.date_updated.is_distinct_from(AidStaging.date_updated),
                    Aid.content_hash != AidStaging.content_hash,
                    Aid.is_live.is_(False),
                ),
            )
            .order_by(AidStaging.aid_id)
        )
        return list((await self.session.execute(statement)).scalars())

    async def staged_rows(self, run_id: uuid.UUID, ids: Sequence[int]) -> dict[int, AidStaging]:
        statement = select(AidStaging).where(self._staged(run_id), AidStaging.aid_id.in_(ids))
        return {row.aid_id: row for row in (await self.session.execute(statement)).scalars()}

    async def staged_count(self, run_id: uuid.UUID) -> int:
        count: int = await self.session.scalar(select(func.count()).where(self._staged(run_id))) or 0
        return count

    async def vanished(self, run_id: uuid.UUID, *, kept: Sequence[int]) -> list[tuple[int, str]]:
        """Live aids the scan did not list (`kept`: ids listed but unreadable, which did not vanish)."""
        listed = exists().where(AidStaging.run_id == run_id, AidStaging.aid_id == Aid.id)
        statement = select(Aid.id, Aid.name).where(Aid.is_live, ~listed).order_by(Aid.id)
        if kept:
            statement = statement.where(Aid.id.not_in(list(kept)))
        return [(row[0], row[1]) for row in await self.session.execute(statement)]

    async def delist(self, ids: Sequence[int], now: dt.datetime) -> None:
        for start in range(0, len(ids), CHUNK):
            await self.session.execute(
                update(Aid)
                .where(and_(Aid.id.in_(ids[start : start + CHUNK]), Aid.is_live))
                .values(is_live=False, delisted_at=now, updated_at=now)
            )

    # The sync runs (the job platform's records of the sync job)

    def sync_runs_statement(self) -> Select[Any]:
        return runs_statement(JobRun, job=SYNC_JOB)

    async def sync_run(self, run_id: uuid.UUID) -> JobRun | None:
        run = await self.session.get(JobRun, run_id)
        return run if run is not None and run.job == SYNC_JOB else None
