"""The aids catalogue: its reads, and the sync that keeps it in step with Aides-territoires.

The sync is a full scan (the API has no "updated since" filter), compared on `id` and `date_updated` (and
the record's content, for a change that left `date_updated` alone or null):
1. every page is read, its records parsed and written to the staging table, a transaction per page (memory
   stays flat in the number of aids); an unreadable record is an item error of the run, not its failure;
2. only once the scan completed, one transaction applies it: new aids inserted, changed ones updated,
   unchanged ones not written at all, the live aids the scan did not list marked not live (never deleted);
   every write audited in the job's name;
3. a scan that fails (the API still down after the client's retries, a refused key) deletes what it staged
   and fails the run: the catalogue stays as it was, and the next run starts again from page 1.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.actions.service import funding_target, get_action
from planeco_actions.aids.client import AidesTerritoiresClient, AidesTerritoiresError
from planeco_actions.aids.levers import apply_mapping, current_rules, default_mapping
from planeco_actions.aids.models import AID_COLUMNS, Aid, AidLeverMapping
from planeco_actions.aids.parsing import UnreadableRecord, parse_record
from planeco_actions.aids.perimeters import Level, TerritoryScope, resolve_perimeters, territory_scope
from planeco_actions.aids.repository import CHUNK, ENTITY, AidRepository
from planeco_actions.aids.schemas import (
    ActionFunding,
    AidCoverage,
    AidDetail,
    AidFilters,
    AidFunding,
    AidRead,
    AidSyncRunRead,
    LeverMappingRead,
    LeverMappingUpdate,
    LeverRule,
)
from planeco_actions.aids.vocabulary import actor_audience
from planeco_actions.db import AuditEntry, JobRun
from planeco_actions.support import service as support
from planeco_shared import audit
from planeco_shared.clients.base import ReferenceCheck, UpstreamFailed
from planeco_shared.clients.levers import LeversClient
from planeco_shared.history import HistoryEntry, history_page, history_statement
from planeco_shared.identity import Principal
from planeco_shared.jobs import JobContext
from planeco_shared.models import utcnow
from planeco_shared.pagination import Page, PageParams, paginate, paginate_into
from planeco_shared.problems import NotFound
from planeco_shared.scopes import Territory

# The fields an aid's history shows (the record itself is kept whole in `raw`).
AUDITED_FIELDS = [
    "name",
    "date_updated",
    "submission_deadline",
    "start_date",
    "perimeter",
    "categories",
    "targeted_audiences",
    "financers",
    "content_hash",
    "is_live",
]


# Reads


async def list_aids(
    session: AsyncSession, filters: AidFilters, *, params: PageParams, levers: LeversClient
) -> Page[AidRead]:
    scope = None
    if (territory := filters.territory()) is not None:
        level, code = territory
        check = ReferenceCheck()
        scope = await check.exists(
            territory_scope(Level(level), code, levers), loc=["query", level], what=f"{level} {code}"
        )
        check.raise_if_any()
    statement = AidRepository(session).list_statement(filters, scope)
    return await paginate_into(session, statement, params, AidRead.model_validate)


async def get_aid(session: AsyncSession, aid_id: int) -> AidDetail:
    aid = await AidRepository(session).get(aid_id)
    if aid is None:
        raise NotFound(f"No aid {aid_id} in the catalogue")
    return AidDetail.model_validate(aid)


def sync_run_read(run: JobRun) -> AidSyncRunRead:
    counts = dict(run.counts or {})
    return AidSyncRunRead(
        id=run.id,
        trigger=run.trigger,
        started_by=run.started_by,
        started_at=run.started_at,
        finished_at=run.finished_at,
        outcome=run.outcome,
        pages=counts.get("pages", 0),
        inserted=counts.get("inserted", 0),
        updated=counts.get("updated", 0),
        unchanged=counts.get("unchanged", 0),
        expired=counts.get("expired", 0),
        rejected=counts.get("rejected", 0),
        counts=counts,
        errors=run.errors or [],
        message=run.message,
    )


async def list_sync_runs(session: AsyncSession, *, params: PageParams) -> Page[AidSyncRunRead]:
    return await paginate_into(session, AidRepository(session).sync_runs_statement(), params, sync_run_read)


async def get_sync_run(session: AsyncSession, run_id: uuid.UUID) -> AidSyncRunRead:
    run = await AidRepository(session).sync_run(run_id)
    if run is None:
        raise NotFound(f"No sync run {run_id}")
    return sync_run_read(run)


# Funding of an action


async def action_funding(
    session: AsyncSession,
    action_id: uuid.UUID,
    *,
    regions: frozenset[str] | None,
    params: PageParams,
    levers: LeversClient,
) -> ActionFunding:
    """The live aids that serve the action's levers, available to its territory, for its carriers' types
    where they are known; those covering the whole territory first, then by deadline. Beside them, the
    support measures of its levers."""
    target = funding_target(await get_action(session, action_id, regions=regions))
    measures = await support.measures_for(target.lever_ids, target.territory, session)
    if not target.lever_ids:
        return ActionFunding(
            items=[], total=0, page=params.page, page_size=params.page_size, support_measures=[]
        )
    audiences = sorted({a.value for c in target.carriers if (a := actor_audience(c)) is not None})
    scope = await _funding_scope(target.territory, levers)
    repository = AidRepository(session)
    rows, total = await paginate(
        session, repository.funding_statement(target.lever_ids, scope, audiences), params
    )
    whole = await repository.covering_whole([aid.id for aid in rows], scope)
    items = [
        AidFunding.model_validate(
            {
                **AidRead.model_validate(aid).model_dump(by_alias=False),
                "updated_at": aid.updated_at,
                "coverage": AidCoverage.whole if aid.id in whole else AidCoverage.any,
                "matched_lever_ids": [lever for lever in target.lever_ids if lever in aid.lever_rules],
                "matched_audiences": [a for a in audiences if f"|{a}|" in aid.audience_slugs],
            }
        )
        for aid in rows
    ]
    return ActionFunding(
        items=items, total=total, page=params.page, page_size=params.page_size, support_measures=measures
    )


async def _funding_scope(territory: Territory, levers: LeversClient) -> TerritoryScope:
    """The action's own territory (a département, an EPCI, a commune: the aids available to it), or its
    région for a région's action and for a CRTE (which Aides-territoires does not know)."""
    if territory.level.value in (Level.departement, Level.epci, Level.commune):
        return await territory_scope(Level(territory.level.value), territory.code, levers)
    (region,) = territory.regions
    return await territory_scope(Level.region, region, levers)


# The lever mapping

MAPPING_ENTITY = "aid-lever-mapping"
MAPPING_ID = "current"


async def get_lever_mapping(session: AsyncSession) -> LeverMappingRead:
    saved = await AidRepository(session).lever_mapping()
    version = default_mapping().get("panorama_version")
    if saved is None:
        rules = [LeverRule.model_validate(rule) for rule in default_mapping()["rules"]]
        return LeverMappingRead(
            source="default", revision=0, updated_at=None, updated_by=None, panorama_version=version,
            rules=rules,
        )  # fmt: skip
    return LeverMappingRead(
        source="edited",
        revision=saved.revision,
        updated_at=saved.updated_at,
        updated_by=saved.updated_by,
        panorama_version=version,
        rules=[LeverRule.model_validate(rule) for rule in saved.rules],
    )


async def update_lever_mapping(
    session: AsyncSession, data: LeverMappingUpdate, *, principal: Principal, levers: LeversClient
) -> LeverMappingRead:
    """Every lever id checked against the levers service (a 422 naming each unknown one), then saved,
    audited, and applied to the whole catalogue."""
    check = ReferenceCheck()
    checked: set[str] = set()
    for i, rule in enumerate(data.rules):
        for j, lever_id in enumerate(rule.lever_ids):
            if lever_id in checked:
                continue
            checked.add(lever_id)
            await check.exists(
                levers.get_lever(lever_id), loc=["body", "rules", i, "lever_ids", j], what=f"lever {lever_id}"
            )
    check.raise_if_any()
    repository = AidRepository(session)
    before = await current_rules(session)
    rules = [rule.model_dump(mode="json") for rule in data.rules]
    saved = await repository.lever_mapping()
    now = utcnow()
    if saved is None:
        saved = AidLeverMapping(id=1, rules=rules, updated_at=now, updated_by=principal.subject)
        session.add(saved)
    else:
        saved.rules, saved.updated_at, saved.updated_by = rules, now, principal.subject
    await session.flush()
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action="update",
        entity_type=MAPPING_ENTITY,
        entity_id=MAPPING_ID,
        changes={"rules": {"old": before, "new": rules}} if before != rules else {},
    )
    await apply_mapping(session, rules)
    return await get_lever_mapping(session)


async def lever_mapping_history(session: AsyncSession, *, params: PageParams) -> Page[HistoryEntry]:
    statement = history_statement(AuditEntry, MAPPING_ENTITY, MAPPING_ID)
    return await history_page(session, statement, params, field_order=["rules"])


# The sync


@dataclass(slots=True)
class ScanResult:
    pages: int = 0
    listed: int = 0  # what page 1's `count` said
    staged: set[int] = field(default_factory=set)
    unreadable: set[int] = field(default_factory=set)  # listed, but not applied (and so not vanished)
    rejected: int = 0


async def sync_catalogue(context: JobContext, client: AidesTerritoiresClient) -> dict[str, int]:
    """Scan, then apply (see the module's docstring). Returns the run's counts."""
    async with context.transaction() as session:
        await AidRepository(session).clear_staging()  # what a killed run left (we hold the job's lock)
    try:
        scan = await _scan(context, client)
    except BaseException:
        async with context.transaction() as session:
            await AidRepository(session).clear_staging(context.run_id)
        raise
    try:
        async with context.transaction() as session:
            counts = await _apply(session, context.run_id, scan, principal=context.principal)
    finally:
        async with context.transaction() as session:
            await AidRepository(session).clear_staging(context.run_id)
    counts |= {
        "pages": scan.pages,
        "listed": scan.listed,
        "rejected": scan.rejected,
        "requests": client.requests,
        "retries": client.retries,
        "tokens": client.tokens,
        "token_refreshes": client.token_refreshes,
    }
    # Then the perimeters of the catalogue as applied (their calls counted apart from the scan's).
    requests, tokens = client.requests, client.tokens
    counts |= await resolve_perimeters(context, client, context.runtime.levers)
    counts |= {"perimeter_requests": client.requests - requests, "perimeter_tokens": client.tokens - tokens}
    context.message = (
        f"{scan.pages} pages, {len(scan.staged)} aids read: {counts['inserted']} inserted, "
        f"{counts['updated']} updated, {counts['unchanged']} unchanged, {counts['expired']} no longer "
        f"listed, {counts['rejected']} unreadable; perimeters: {counts['perimeters_resolved']} resolved, "
        f"{counts['perimeters_unresolved']} unresolved, {counts['perimeters_failed']} to retry"
    )
    return counts


async def _scan(context: JobContext, client: AidesTerritoiresClient) -> ScanResult:
    scan = ScanResult()
    try:
        async for page in client.aid_pages():
            scan.pages, scan.listed = page.number, page.count
            rows: list[dict[str, Any]] = []
            for raw in page.results:
                try:
                    row = parse_record(raw)
                except UnreadableRecord as error:
                    scan.rejected += 1
                    if error.aid_id is not None:
                        scan.unreadable.add(error.aid_id)
                    item = f"aid {error.aid_id}" if error.aid_id is not None else f"page {page.number}"
                    context.error(error.message, item=item, type="unreadable-record")
                    continue
                if row["id"] in scan.staged:  # listed twice (the order moved between two pages)
                    context.count("duplicates")
                    continue
                scan.staged.add(row["id"])
                rows.append(row)
            async with context.transaction() as session:
                await AidRepository(session).stage(context.run_id, rows)
    except AidesTerritoiresError as error:
        raise UpstreamFailed(
            f"The Aides-territoires scan stopped after {scan.pages} pages: {error}. The catalogue is "
            "unchanged; the next run starts again."
        ) from error
    scan.unreadable -= scan.staged
    return scan


async def _apply(
    session: AsyncSession, run_id: uuid.UUID, scan: ScanResult, *, principal: Principal
) -> dict[str, int]:
    repository = AidRepository(session)
    if not scan.staged and await repository.live_count() > 0:
        raise UpstreamFailed(
            "Aides-territoires listed no aid at all: not applied (every aid would have been marked not "
            "live). The catalogue is unchanged."
        )
    now = utcnow()
    new = await repository.new_aids(run_id)
    changed = await repository.changed_ids(run_id)
    await repository.insert_new(run_id, now)
    for aid_id, name, updated in new:
        _audit(
            session,
            "create",
            aid_id,
            {"name": name, "date_updated": _iso(updated), "is_live": True},
            principal,
        )
    for start in range(0, len(changed), CHUNK):
        await _update(session, run_id, changed[start : start + CHUNK], now, principal=principal)
    # The levers of the catalogue as applied (only the aids whose levers change are written).
    await apply_mapping(session, await current_rules(session))
    vanished = await repository.vanished(run_id, kept=sorted(scan.unreadable))
    await repository.delist([aid_id for aid_id, _ in vanished], now)
    for aid_id, _ in vanished:
        _audit(session, "update", aid_id, {"is_live": {"old": True, "new": False}}, principal)
    await session.flush()
    return {
        "received": len(scan.staged),
        "inserted": len(new),
        "updated": len(changed),
        "unchanged": len(scan.staged) - len(new) - len(changed),
        "expired": len(vanished),
    }


async def _update(
    session: AsyncSession, run_id: uuid.UUID, ids: Sequence[int], now: dt.datetime, *, principal: Principal
) -> None:
    repository = AidRepository(session)
    staged = await repository.staged_rows(run_id, ids)
    for aid in await repository.get_many(ids):
        row = staged[aid.id]
        values: dict[str, Any] = {name: getattr(row, name) for name in AID_COLUMNS}
        _apply_values(session, aid, values | {"is_live": True, "delisted_at": None}, principal=principal)


def _apply_values(session: AsyncSession, aid: Aid, values: dict[str, Any], *, principal: Principal) -> None:
    before = audit.snapshot(aid, AUDITED_FIELDS)
    for name, value in values.items():
        setattr(aid, name, value)
    _audit(session, "update", aid.id, audit.diff(before, audit.snapshot(aid, AUDITED_FIELDS)), principal)


def _audit(
    session: AsyncSession, action: str, aid_id: int, changes: dict[str, Any], principal: Principal
) -> None:
    """A write of the sync, in the job's name (its request id is the run's: `job-run:<id>`)."""
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action=action,
        entity_type=ENTITY,
        entity_id=str(aid_id),
        changes=changes,
    )


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None
