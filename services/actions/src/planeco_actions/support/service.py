"""Support measures: each owner's catalogue (the nation's, a région's, a département's), replaced as a
whole by an import and read publicly by lever."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.db import AuditEntry
from planeco_actions.support.models import SupportMeasure
from planeco_actions.support.repository import ENTITY, SupportMeasureRepository, barred
from planeco_actions.support.schemas import (
    SupportFilters,
    SupportImportReport,
    SupportMeasureRead,
    SupportMeasureRow,
)
from planeco_shared import archive, audit
from planeco_shared.clients.base import UpstreamNotFound
from planeco_shared.clients.levers import LeversClient
from planeco_shared.history import HistoryEntry, history_page
from planeco_shared.identity import Principal
from planeco_shared.jobs.locks import lock_key
from planeco_shared.owners import ResolvedOwner, ensure_may_manage, parse_owner, resolve_owner
from planeco_shared.pagination import Page, PageParams, paginate_into
from planeco_shared.problems import NotFound
from planeco_shared.scopes import Territory
from planeco_shared.sheets import RowErrors, read_sheet, split_list, validate_rows

COLUMNS = tuple(SupportMeasureRow.model_fields)
REQUIRED = ("key", "title", "carrier", "lever_ids", "support_types")
LIST_COLUMNS = frozenset({"lever_ids", "support_types", "audiences"})
FIELDS = [name for name in COLUMNS if name != "key"]
MAX_ROWS = 5_000

IMPORT_FORMAT = """\
**File.** CSV (UTF-8, `;` or `,`) or XLSX (first sheet, or the one named `data`), a header row, then one row
per measure. Column names are compared without case, accents or separators.

- `key` (required): the owner's stable key of the measure (letters, digits, `.`, `_`, `-`; at most 80);
  a re-import updates the measure with that key;
- `title` (required): its name;
- `carrier` (required): the body that offers it (`ADEME`, `Banque des Territoires`, a DREAL…);
- `url`: its page (http or https);
- `description`: what it is;
- `lever_ids` (required): the SGPE levers it serves, separated by `|` or `,` (`augm_voitelec|velo`);
- `support_types` (required): among `subvention`, `pret`, `ingenierie`, `appel_a_projets`,
  `donnees_outils`, `formation`, `autre`;
- `audiences`: among `region`, `departement`, `epci`, `commune`, `syndicat`, `etablissement_public`,
  `entreprise`, `association`, `particulier`;
- `in_own_hands`: what lies in the collectivité's own hands;
- `resources`: guides, tools, contacts.

**Rules.** The file is the owner's whole catalogue: measures it lists are created or updated (an unchanged
one is not written), the owner's measures it leaves out are archived (never deleted; listing them again
restores them). All or nothing: any invalid row and nothing changes; the problem lists every error (up to
200) as `errors: [{loc: ["row", <n>, <column>], msg, type}]`, rows numbered as in a spreadsheet. Every lever
must exist in the levers service's catalogue; a key appears once.
"""


def read_model(measure: SupportMeasure) -> SupportMeasureRead:
    values = {
        name: getattr(measure, name) for name in SupportMeasureRead.model_fields if hasattr(measure, name)
    }
    return SupportMeasureRead.model_validate(
        values | {"owner": measure.owner.api, "revision": measure.version}
    )


def _cells(cells: Mapping[str, str]) -> dict[str, Any]:
    return {
        name: split_list(value) if name in LIST_COLUMNS else value for name, value in cells.items() if value
    }


async def _unknown_levers(levers: LeversClient, lever_ids: set[str]) -> set[str]:
    unknown = set()
    for lever_id in sorted(lever_ids):  # a few dozen at most; each answer is cached by the client
        try:
            await levers.get_lever(lever_id)
        except UpstreamNotFound:
            unknown.add(lever_id)
    return unknown


def _values(row: SupportMeasureRow) -> dict[str, Any]:
    values = row.model_dump(mode="json", exclude={"key"})
    return values | {
        "lever_index": barred(values["lever_ids"]),
        "support_type_index": barred(values["support_types"]),
        "audience_index": barred(values["audiences"]),
    }


async def import_measures(
    session: AsyncSession,
    content: bytes,
    media_type: str,
    *,
    owner: str,
    principal: Principal,
    levers: LeversClient,
) -> SupportImportReport:
    resolved = await resolve_owner(parse_owner(owner), levers=levers, loc=["query", "owner"])
    ensure_may_manage(principal, resolved)
    rows = await _read_file(content, media_type, levers)
    await _lock_owner(session, owner)
    existing = await SupportMeasureRepository(session).of_owner(owner)
    counts = dict.fromkeys(("created", "updated", "unchanged", "archived", "restored"), 0)
    for row in rows:
        outcome = await _apply_row(session, row, existing.pop(row.key, None), owner, resolved, principal)
        counts[outcome] += 1
    for left_out in existing.values():
        if left_out.archived_at is None:
            _set_archived(session, left_out, True, principal)
            counts["archived"] += 1
    await session.flush()
    return SupportImportReport(owner=resolved.api, rows=len(rows), **counts)


async def _read_file(content: bytes, media_type: str, levers: LeversClient) -> list[SupportMeasureRow]:
    """Every row valid, or a 422 listing every error by row and column (nothing read is applied)."""
    errors = RowErrors("the file", code="invalid-support-measures")
    rows = read_sheet(
        content, media_type, columns=COLUMNS, required=REQUIRED, max_rows=MAX_ROWS, errors=errors
    )
    valid = validate_rows(rows, SupportMeasureRow, errors, prepare=_cells)
    first_row: dict[str, int] = {}
    for sheet_row, row in valid:
        if row.key in first_row:
            errors.add(
                ["row", sheet_row.number, "key"],
                f"key {row.key!r} is also on row {first_row[row.key]}",
                "duplicate",
            )
        first_row.setdefault(row.key, sheet_row.number)
    unknown = await _unknown_levers(levers, {lever for _, row in valid for lever in row.lever_ids})
    for sheet_row, row in valid:
        for lever_id in row.lever_ids:
            if lever_id in unknown:
                errors.add(
                    ["row", sheet_row.number, "lever_ids"], f"No lever {lever_id!r} exists", "not_found"
                )
    errors.raise_if_any()
    return [row for _, row in valid]


async def _lock_owner(session: AsyncSession, owner_key: str) -> None:
    """Two imports of one owner's catalogue run one after the other: the second sees the first's result.
    (SQLite has one writer at a time already.)"""
    if session.get_bind().dialect.name == "postgresql":
        key = lock_key("actions", f"support-measures:{owner_key}")
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


async def _apply_row(
    session: AsyncSession,
    row: SupportMeasureRow,
    measure: SupportMeasure | None,
    owner_key: str,
    owner: ResolvedOwner,
    principal: Principal,
) -> str:
    """Create, update, restore or leave the measure of this row; which one it was."""
    values = _values(row)
    if measure is None:
        measure = SupportMeasure(
            owner_key=owner_key,
            owner_level=owner.level,
            owner_code=owner.code,
            owner_region=owner.region,
            key=row.key,
            **values,
        )
        session.add(measure)
        await session.flush()
        audit.record(
            session,
            AuditEntry,
            principal=principal,
            action="create",
            entity_type=ENTITY,
            entity_id=str(measure.id),
            changes=audit.snapshot(measure, FIELDS),
        )
        return "created"
    restored = measure.archived_at is not None
    if restored:
        _set_archived(session, measure, False, principal)
    if audit.diff(audit.snapshot(measure, list(values)), values):
        audit.apply_update(
            session,
            AuditEntry,
            measure,
            values,
            principal=principal,
            entity_type=ENTITY,
            entity_id=str(measure.id),
        )
        return "restored" if restored else "updated"
    return "restored" if restored else "unchanged"


def _set_archived(
    session: AsyncSession, measure: SupportMeasure, archived: bool, principal: Principal
) -> None:
    archive.set_archived(
        session,
        AuditEntry,
        measure,
        archived,
        principal=principal,
        entity_type=ENTITY,
        entity_id=str(measure.id),
    )


async def measures_for(
    lever_ids: Sequence[str], territory: Territory, session: AsyncSession
) -> list[SupportMeasureRead]:
    """The support measures in force for these levers that a collectivité of `territory` may use: the
    nation's catalogue and those of the régions and départements it lies in."""
    owner_keys = [
        "nation",
        *(f"region:{code}" for code in sorted(territory.regions)),
        *(f"departement:{code}" for code in sorted(territory.departements)),
    ]
    rows = await SupportMeasureRepository(session).in_force_for(lever_ids, owner_keys)
    return [read_model(measure) for measure in rows]


async def get_measure(
    session: AsyncSession, measure_id: uuid.UUID, *, include_archived: bool = False
) -> SupportMeasure:
    measure = await SupportMeasureRepository(session).get(measure_id)
    if measure is None or archive.is_hidden(measure, include_archived):
        raise NotFound(f"No support measure {measure_id}")
    return measure


async def list_measures(
    session: AsyncSession, *, filters: SupportFilters, params: PageParams
) -> Page[SupportMeasureRead]:
    """The measures in force (archived ones are left out: the list is public and cached for everyone)."""
    statement = SupportMeasureRepository(session).list_statement(filters, include_archived=False)
    return await paginate_into(session, statement, params, read_model)


async def measure_history(
    session: AsyncSession, measure_id: uuid.UUID, params: PageParams
) -> Page[HistoryEntry]:
    await get_measure(session, measure_id, include_archived=True)
    statement = SupportMeasureRepository(session).history_statement(measure_id)
    return await history_page(session, statement, params, field_order=FIELDS)
