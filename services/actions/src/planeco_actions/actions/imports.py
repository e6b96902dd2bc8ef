"""A roadmap file imported whole (CSV or XLSX, one row per action; `sheet.IMPORT_FORMAT`), and the actions
exported in the same columns.

Every row is checked as a single action's write is (the same schema, calendar, budget, lever, territory,
actor and impact rules: `service`, `impacts`) before anything is written; any error and nothing changes.
A row names its action by planeco `id` (what the export writes: actions recorded through the API, by
contributors or from a proposal have no external id) or else by (territory, external id). Idempotent: an
unchanged row writes nothing (no audit entry, no new revision), a changed one updates its action (audited
`update`), a new one (no `id`, an external id not yet known) creates it (audited `create`)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.actions import impacts as impact_rules
from planeco_actions.actions import service
from planeco_actions.actions.models import Action
from planeco_actions.actions.repository import ENTITY, ActionRepository
from planeco_actions.actions.schemas import (
    ActionCreate,
    ActionFilters,
    ActionImportReport,
    ImpactInput,
    budget_errors,
    calendar_errors,
    lever_errors,
)
from planeco_actions.actions.sheet import COLUMNS, REQUIRED, row_fields, table
from planeco_actions.db import AuditEntry
from planeco_shared import archive, audit
from planeco_shared.clients.base import ReferenceCheck
from planeco_shared.clients.levers import LeversClient
from planeco_shared.identity import Principal
from planeco_shared.jobs.locks import lock_key
from planeco_shared.problems import FieldError, Forbidden, UnprocessableEntity
from planeco_shared.scopes import may_act_on
from planeco_shared.sheets import RowErrors, SheetRow, read_sheet
from planeco_shared.tabular import Metadata, Table

MAX_ROWS = 10_000
CODE = "invalid-roadmap-file"
LICENCE = "Licence Ouverte / Open Licence 2.0 (Etalab). Attribution: « Source : COP régionale (planeco) »."


@dataclass(slots=True)
class _Row:
    sheet: SheetRow
    data: ActionCreate
    present: frozenset[str]  # the ActionCreate fields the file's columns give
    action_id: uuid.UUID | None  # the planeco id the row names its action by, if it has one


def _column(cells: Mapping[str, str], loc: Sequence[str | int]) -> str:
    """The file's column an error at `loc` (of an ActionCreate, ["body", field, …]) is about: the field's,
    but for impacts, `impact_value` (the main lever's, first when given) or `other_impacts`."""
    parts = [part for part in loc if part != "body"]
    field = str(parts[0]) if parts else "row"
    if field == "impacts":
        first = len(parts) < 2 or parts[1] == 0
        return "impact_value" if first and cells.get("impact_value") else "other_impacts"
    return field


def _message(error: dict[str, Any]) -> str:
    return str(error["msg"]).removeprefix("Value error, ")


def _parse(rows: list[SheetRow], errors: RowErrors) -> list[_Row]:
    parsed: list[_Row] = []
    for sheet_row in rows:
        fields, wrong = row_fields(sheet_row.values)
        for column, message in wrong.items():
            errors.add(["row", sheet_row.number, column], message, "syntax")
        if wrong:
            continue
        raw_id = fields.pop("id", None)
        action_id: uuid.UUID | None = None
        if raw_id:
            try:
                action_id = uuid.UUID(raw_id)
            except ValueError:
                errors.add(["row", sheet_row.number, "id"], "not an action id (a UUID)", "uuid_parsing")
                continue
        elif not fields.get("external_id"):
            errors.add(
                ["row", sheet_row.number, "external_id"],
                "the external id is required when the row has no id",
                "missing",
            )
            continue
        try:
            data = ActionCreate.model_validate(fields)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                column = _column(sheet_row.values, list(error["loc"]))
                errors.add(["row", sheet_row.number, column], _message(dict(error)), str(error["type"]))
            continue
        parsed.append(_Row(sheet_row, data, frozenset(fields), action_id))
    return parsed


def _row_error(errors: RowErrors, row: _Row, error: FieldError) -> None:
    column = _column(row.sheet.values, error.loc)
    errors.add(["row", row.sheet.number, column], error.msg, error.type)


async def _lock(session: AsyncSession) -> None:
    """Two imports run one after the other (SQLite has one writer at a time already)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key("actions", "roadmap-import")}
        )


async def _existing(session: AsyncSession, rows: list[_Row]) -> dict[tuple[str, str, str], Action]:
    """The actions holding the rows' external ids, by (territory level, code, external id)."""
    ids = sorted({row.data.external_id for row in rows if row.data.external_id})
    found: dict[tuple[str, str, str], Action] = {}
    for start in range(0, len(ids), 500):
        statement = select(Action).where(Action.external_id.in_(ids[start : start + 500]))
        for action in (await session.execute(statement)).scalars():
            assert action.external_id is not None
            found[(action.territory_level.value, action.territory_code, action.external_id)] = action
    return found


async def _named(session: AsyncSession, rows: list[_Row]) -> dict[uuid.UUID, Action]:
    """The actions the rows name by id (archived ones too: a row restores its action)."""
    ids = sorted({row.action_id for row in rows if row.action_id is not None})
    found: dict[uuid.UUID, Action] = {}
    for start in range(0, len(ids), 500):
        statement = select(Action).where(Action.id.in_(ids[start : start + 500]))
        found |= {action.id: action for action in (await session.execute(statement)).scalars()}
    return found


def _target(
    row: _Row,
    place: service.Place,
    *,
    named: dict[uuid.UUID, Action],
    existing: dict[tuple[str, str, str], Action],
    principal: Principal,
    errors: RowErrors,
) -> tuple[bool, Action | None]:
    """The action a row writes (None: a new one), and whether the row may write it (False: an error is
    recorded). By id when the row has one (an action the caller may act on, on the row's territory, and
    the row's external id not another action's), else by territory and external id."""
    number = row.sheet.number
    external_id = row.data.external_id if "external_id" in row.present else None
    holder = existing.get((place.level.value, place.code, external_id)) if external_id else None
    if row.action_id is None:
        return True, holder
    action = named.get(row.action_id)
    if action is None or not may_act_on(principal, service.scope_of(action)):
        # Another territory's action reads as unknown: its existence is not the caller's to learn.
        errors.add(["row", number, "id"], f"no action {row.action_id} on your territory", "not_found")
        return False, None
    if (action.territory_level.value, action.territory_code) != (place.level.value, place.code):
        errors.add(
            ["row", number, "territory"],
            f"action {action.id} is on {action.territory_level.value}:{action.territory_code}: an "
            "action's territory does not change (leave the id out to record a new action)",
            "value_error",
        )
        return False, None
    if holder is not None and holder.id != action.id:
        errors.add(
            ["row", number, "external_id"],
            f"action {holder.id} of {place.level.value} {place.code} already has external_id {external_id!r}",
            "duplicate",
        )
        return False, None
    return True, action


def _with_versions(data: ActionCreate, action: Action | None) -> list[ImpactInput]:
    """An impact without a version keeps the one the action's impact on that lever has: a re-import never
    moves a figure to a newer panorama silently (`POST …/impacts/recompute` does, explicitly)."""
    kept = {impact["lever_id"]: impact.get("version") for impact in (action.impacts if action else [])}
    return [
        impact.model_copy(update={"version": kept[impact.lever_id]})
        if impact.version is None and kept.get(impact.lever_id)
        else impact
        for impact in data.impacts
    ]


async def import_actions(
    session: AsyncSession,
    content: bytes,
    media_type: str,
    *,
    principal: Principal,
    levers: LeversClient,
) -> ActionImportReport:
    errors = RowErrors("the roadmap file", code=CODE)
    sheet_rows = read_sheet(
        content, media_type, columns=COLUMNS, required=REQUIRED, max_rows=MAX_ROWS, errors=errors
    )
    rows = _parse(sheet_rows, errors)
    for row in rows:
        for loc, message in (
            calendar_errors(row.data.start_date, row.data.end_date, row.data.phases)
            + budget_errors(row.data.budget_lines)
            + lever_errors(row.data.lever_id, row.data.other_lever_ids)
        ):
            _row_error(errors, row, FieldError(loc=loc, msg=message, type="value_error"))
    cited = {line.aid_id for row in rows for line in row.data.budget_lines if line.aid_id is not None}
    known_aids = await ActionRepository(session).known_aid_ids(cited)
    for row in rows:
        for line in row.data.budget_lines:
            if line.aid_id is not None and line.aid_id not in known_aids:
                errors.add(
                    ["row", row.sheet.number, "budget_lines"],
                    f"no aid {line.aid_id} in the aids catalogue",
                    "not_found",
                )

    # The territories first: a row outside the importer's territory is a 403, before any other check.
    places: dict[int, service.Place] = {}
    for row in rows:
        check = ReferenceCheck()
        place = await service.resolve_territory(levers, row.data.territory, check=check, loc=["territory"])
        for error in check.errors:
            _row_error(errors, row, error)
        if place is not None:
            places[row.sheet.number] = place
    outside = [
        FieldError(
            loc=["row", row.sheet.number, "territory"],
            msg=f"{place.level.value} {place.code} is outside your territory",
            type="forbidden",
        )
        for row in rows
        if (place := places.get(row.sheet.number)) is not None and not may_act_on(principal, place.scope)
    ]
    if outside:
        raise Forbidden(
            f"{len(outside)} row(s) of the file are on territories your role and territory do not allow "
            "acting on; nothing was changed",
            errors=outside[:200],
        )

    first_row: dict[tuple[str, str, str], int] = {}
    for row in rows:
        place = places.get(row.sheet.number)
        if place is None or not row.data.external_id:
            continue
        key = (place.level.value, place.code, row.data.external_id)
        if key in first_row:
            errors.add(
                ["row", row.sheet.number, "external_id"],
                f"{row.data.external_id!r} of {place.level.value} {place.code} is also on row "
                f"{first_row[key]}",
                "duplicate",
            )
        first_row.setdefault(key, row.sheet.number)

    await _lock(session)
    existing = await _existing(session, rows)
    named = await _named(session, rows)
    writing: dict[uuid.UUID, int] = {}  # the action each row writes → its first row
    planned: list[tuple[_Row, service.Place, Action | None, dict[str, Any], list[str]]] = []
    for row in rows:
        place = places.get(row.sheet.number)
        if place is None:
            continue
        found, action = _target(
            row, place, named=named, existing=existing, principal=principal, errors=errors
        )
        if not found:
            continue
        if action is not None:
            if action.id in writing:
                errors.add(
                    ["row", row.sheet.number, "id" if row.action_id else "external_id"],
                    f"action {action.id} is also written by row {writing[action.id]}",
                    "duplicate",
                )
                continue
            writing[action.id] = row.sheet.number
        check = ReferenceCheck()
        refused: list[FieldError] = []
        data = row.data
        sectors = await service._lever_sectors(levers, data.lever_id, data.other_lever_ids, check=check)
        carriers = await service._actors(levers, data.carriers, check=check, field="carriers")
        partners = await service._actors(levers, data.partners, check=check, field="partners")
        stored_impacts: list[dict[str, Any]] = []
        if "impacts" in row.present or action is None:
            stored_impacts = await impact_rules.derive(
                levers,
                _with_versions(data, action),
                region=place.region,
                action_levers=service._levers_of(data.lever_id, data.other_lever_ids),
                check=check,
                errors=refused,
            )
        for error in check.errors + refused:
            _row_error(errors, row, error)
        if check.errors or refused:
            continue
        values = _values(data, row.present, carriers=carriers, partners=partners, impacts=stored_impacts)
        if action is None:
            values |= {"impacts": stored_impacts}
        else:
            action_levers = service._levers_of(
                values.get("lever_id", action.lever_id), values.get("other_lever_ids", action.other_lever_ids)
            )
            left = [
                i["lever_id"]
                for i in values.get("impacts", action.impacts)
                if i["lever_id"] not in action_levers
            ]
            if left:
                errors.add(
                    ["row", row.sheet.number, "lever_id"],
                    f"an impact is recorded for lever {left[0]!r}: give the impact columns with the levers",
                    "value_error",
                )
                continue
        planned.append((row, place, action, values, sectors))
    errors.raise_if_any()

    counts = dict.fromkeys(("created", "updated", "unchanged", "restored"), 0)
    for row, place, action, values, sectors in planned:
        if action is None:
            _create(session, row.data, place, values, sectors, principal=principal)
            counts["created"] += 1
            continue
        restored = action.archived_at is not None
        if restored:
            archive.set_archived(
                session,
                AuditEntry,
                action,
                False,
                principal=principal,
                entity_type=ENTITY,
                entity_id=str(action.id),
            )
            counts["restored"] += 1
        if not restored and not _changes(action, values):
            counts["unchanged"] += 1
            continue
        changed = audit.apply_update(
            session,
            AuditEntry,
            action,
            values,
            principal=principal,
            entity_type=ENTITY,
            entity_id=str(action.id),
        )
        service._derive(action, sectors)
        if changed and not restored:
            counts["updated"] += 1
    await session.flush()
    return ActionImportReport(rows=len(rows), **counts)


def _values(
    data: ActionCreate,
    present: frozenset[str],
    *,
    carriers: list[dict[str, Any]],
    partners: list[dict[str, Any]],
    impacts: list[dict[str, Any]],
) -> dict[str, Any]:
    """The action's attributes the row sets (only the columns the file has)."""
    values = data.model_dump(
        include=set(present - {"territory", "carriers", "partners", "impacts", "phases", "budget_lines"})
    )
    values |= data.model_dump(mode="json", include=set(present & {"phases", "budget_lines"}))
    if "carriers" in present:
        values["carriers"] = carriers
    if "partners" in present:
        values["partners"] = partners
    if "impacts" in present:
        values["impacts"] = impacts
        values["expected_impact_ktco2e"] = impact_rules.total(impacts)
    return values


def _changes(action: Action, values: dict[str, Any]) -> bool:
    fields = list(values)
    before = audit.snapshot(action, fields)
    after = audit.snapshot(_Values(values), fields)
    return bool(audit.diff(before, after))


class _Values:
    """Attributes for audit.snapshot from a dict."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _create(
    session: AsyncSession,
    data: ActionCreate,
    place: service.Place,
    values: dict[str, Any],
    sectors: list[str],
    *,
    principal: Principal,
) -> Action:
    defaults = data.model_dump(
        exclude={"territory", "carriers", "partners", "impacts", "phases", "budget_lines", "documents"}
    )
    defaults |= data.model_dump(mode="json", include={"phases", "budget_lines", "documents"})
    impacts = values.get("impacts", [])
    attributes = defaults | {"carriers": [], "partners": []} | values
    attributes["expected_impact_ktco2e"] = impact_rules.total(impacts)
    action = Action(
        id=uuid.uuid4(),  # now, so that the audit entry needs no flush per row (one for the file)
        **attributes,
        **place.columns(),
        created_by=principal.subject,
    )
    service._derive(action, sectors)
    session.add(action)
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action="create",
        entity_type=ENTITY,
        entity_id=str(action.id),
        changes=audit.snapshot(action, service.FIELDS),
    )
    return action


async def export_actions(
    session: AsyncSession, *, filters: ActionFilters, regions: frozenset[str] | None
) -> list[Action]:
    statement = ActionRepository(session).list_statement(filters, regions=regions, include_archived=False)
    actions = list((await session.execute(statement.limit(MAX_ROWS + 1))).scalars())
    if len(actions) > MAX_ROWS:
        raise UnprocessableEntity(
            f"More than {MAX_ROWS} actions match (what one import takes): narrow the export down with the "
            "filters (region, departement, lever_id…)",
            code="export-too-large",
        )
    return actions


def export_table(actions: list[Action], filters: ActionFilters) -> Table:
    chosen = filters.model_dump(mode="json", exclude_none=True, exclude={"sort", "descending"})
    described = "; ".join(f"{name}={value}" for name, value in sorted(chosen.items())) or "none"
    metadata = Metadata(
        title="Feuille de route : actions de la COP",
        source="planeco actions service: the COP actions as their coordinators recorded them",
        version=f"{len(actions)} actions",
        licence=LICENCE,
        generated_at=dt.datetime.now(dt.UTC),
        extra=[("filters", described)],
        notes=[
            "One row per action, in the columns of POST /api/v1/actions/imports: the file imported again "
            "changes nothing.",
            "Impacts: impact_value in impact_unit (ktco2e or the lever's physical unit) as entered; "
            "expected_impact_ktco2e is the sum of the action's impacts (exact, 0.0001).",
            "Cost and budget amounts in euros, to the cent.",
        ],
    )
    return table(actions, metadata)
