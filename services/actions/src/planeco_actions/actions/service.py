"""COP actions: coordinators (and national admins) record and follow them, on any territory of their
région, from the région down to a commune."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.actions import impacts as impact_rules
from planeco_actions.actions.models import Action, ActionStatus, TerritoryLevel
from planeco_actions.actions.repository import ENTITY, ActionRepository
from planeco_actions.actions.schemas import (
    ActionCreate,
    ActionFilters,
    ActionRead,
    ActionUpdate,
    Actor,
    ActorKind,
    ImpactChange,
    ImpactRead,
    ImpactRecompute,
    TerritoryRef,
    budget_errors,
    calendar_errors,
    lever_errors,
)
from planeco_actions.aids.parsing import fold
from planeco_actions.db import AuditEntry
from planeco_shared import archive, audit
from planeco_shared.archive import is_hidden
from planeco_shared.clients.base import ReferenceCheck
from planeco_shared.clients.levers import LeversClient
from planeco_shared.history import HistoryEntry, history_page
from planeco_shared.identity import Principal, Role
from planeco_shared.pagination import Page, PageParams, paginate_into
from planeco_shared.problems import Conflict, FieldError, Forbidden, NotFound, UnprocessableEntity
from planeco_shared.scopes import Level, Territory, ensure_may_act_on

# The audited fields, in the order the history lists them.
FIELDS = [
    "title",
    "description",
    "lever_id",
    "other_lever_ids",
    "territory_level",
    "territory_code",
    "region_code",
    "departement_code",
    "carriers",
    "partners",
    "status",
    "nature",
    "multi_acteurs",
    "structurante",
    "start_date",
    "end_date",
    "phases",
    "estimated_cost_eur",
    "budget_lines",
    "documents",
    "external_id",
    "impacts",
    "expected_impact_ktco2e",
    "published",
]
_JSON_LISTS = ("phases", "budget_lines", "documents")


@dataclass(frozen=True, slots=True)
class Place:
    """A territory as the levers service knows it, and where it lies."""

    level: TerritoryLevel
    code: str
    name: str
    region: str
    departement: str | None
    scope: Territory  # what planeco_shared.scopes decides on

    def columns(self) -> dict[str, Any]:
        """The columns an action located here stores about its territory."""
        return {
            "territory_level": self.level,
            "territory_code": self.code,
            "territory_name": self.name,
            "territory_siren": self.scope.siren,
            "region_code": self.region,
            "departement_code": self.departement,
        }


async def resolve_territory(
    levers: LeversClient, ref: TerritoryRef, *, check: ReferenceCheck, loc: list[str | int]
) -> Place | None:
    """The territory `ref` names (None, with an error in `check`, when the levers service has none)."""
    level, code = ref.level, ref.code
    what = f"{level.value} {code}"
    if level is TerritoryLevel.region:
        region = await check.exists(levers.get_region(code), loc=loc, what=what)
        if region is None:
            return None
        return Place(level, code, region.name, code, None, Territory.region(code))
    if level is TerritoryLevel.departement:
        departement = await check.exists(levers.get_departement(code), loc=loc, what=what)
        if departement is None:
            return None
        scope = Territory.departement(code, region=departement.region)
        return Place(level, code, departement.name, departement.region, code, scope)
    if level is TerritoryLevel.epci:
        epci = await check.exists(levers.get_epci(code), loc=loc, what=what)
        if epci is None:
            return None
        scope = Territory(
            Level.epci,
            code,
            regions=frozenset(epci.regions),
            departements=frozenset(epci.departements),
            epcis=frozenset({code}),
            siren=code,
        )
        return Place(level, code, epci.name, epci.region, epci.departement, scope)
    if level is TerritoryLevel.crte:
        crte = await check.exists(levers.get_crte(code), loc=loc, what=what)
        if crte is None:
            return None
        scope = Territory(Level.crte, code, regions=frozenset({crte.region}))
        # Located in its CRTE's département (the attachment rule), so that a département roadmap counts it
        return Place(level, code, crte.name, crte.region, crte.departement, scope)
    commune = await check.exists(levers.get_commune(code), loc=loc, what=what)
    if commune is None:
        return None
    scope = Territory(
        Level.commune,
        code,
        regions=frozenset({commune.region}),
        departements=frozenset({commune.departement}),
        epcis=frozenset({commune.epci}) if commune.epci else frozenset(),
        siren=commune.siren,
    )
    return Place(level, code, commune.name, commune.region, commune.departement, scope)


async def _actors(
    levers: LeversClient, actors: list[Actor], *, check: ReferenceCheck, field: str
) -> list[dict[str, Any]]:
    """The stored form of carriers or partners: a collectivité's territory checked and named."""
    stored: list[dict[str, Any]] = []
    for index, actor in enumerate(actors):
        if actor.kind is ActorKind.collectivite and actor.territory is not None:
            place = await resolve_territory(
                levers, actor.territory, check=check, loc=["body", field, index, "territory"]
            )
            territory = {
                "level": actor.territory.level.value,
                "code": actor.territory.code,
                "name": place.name if place else "",
            }
            stored.append(
                {
                    "kind": actor.kind.value,
                    "territory": territory,
                    "name": territory["name"],
                    "role": actor.role,
                }
            )
        else:
            stored.append(
                {"kind": actor.kind.value, "territory": None, "name": actor.name, "role": actor.role}
            )
    return stored


async def _lever_sectors(
    levers: LeversClient, lever_id: str | None, others: list[str], *, check: ReferenceCheck
) -> list[str]:
    """Each lever named exists in the levers service; the sectors they belong to."""
    sectors: set[str] = set()
    named: list[tuple[list[str | int], str]] = [(["body", "lever_id"], lever_id)] if lever_id else []
    named += [(["body", "other_lever_ids", i], other) for i, other in enumerate(others)]
    for loc, identifier in named:
        found = await check.exists(levers.get_lever(identifier), loc=loc, what=f"lever {identifier!r}")
        if found is not None:
            sectors.add(found.sector)
    return sorted(sectors)


def _keys(values: Iterable[str]) -> str:
    """'|a|b|': one LIKE '%|a|%' finds a value (portable on both databases)."""
    unique = sorted({value for value in values if value})
    return f"|{'|'.join(unique)}|" if unique else ""


def actor_key(actor: dict[str, Any]) -> str:
    territory = actor.get("territory")
    return str(territory["code"]) if territory else fold(" ".join(str(actor["name"]).split()))


def _derive(action: Action, sectors: list[str]) -> None:
    action.lever_keys = _keys([action.lever_id or "", *action.other_lever_ids])
    action.sector_keys = _keys(sectors)
    action.carrier_keys = _keys(actor_key(actor) for actor in action.carriers)
    action.search_text = fold(f"{action.title}\n{action.description}")


def _levers_of(lever_id: str | None, others: list[str]) -> list[str]:
    return ([lever_id] if lever_id else []) + list(others)


def _raise_refusals(check: ReferenceCheck, refused: list[FieldError]) -> None:
    errors = check.errors + refused
    if errors:
        detail = "; ".join(f"{'.'.join(map(str, e.loc[1:]))} {e.msg}" for e in errors)
        raise UnprocessableEntity(detail, errors=errors)


def _raise_if(errors: list[tuple[list[str | int], str]]) -> None:
    if errors:
        raise UnprocessableEntity(
            "; ".join(f"{'.'.join(map(str, loc[1:]))} {msg}" for loc, msg in errors),
            errors=[FieldError(loc=loc, msg=msg, type="value_error") for loc, msg in errors],
        )


async def _ensure_external_id_free(
    session: AsyncSession, action: Action | None, *, level: str, code: str, external_id: str | None
) -> None:
    if external_id is None:
        return
    other = await ActionRepository(session).by_external_id(level, code, external_id)
    if other is not None and (action is None or other.id != action.id):
        raise Conflict(
            f"Action {other.id} of {level} {code} already has external_id {external_id!r}",
            code="duplicate-external-id",
        )


async def _check_cited_aids(session: AsyncSession, lines: list[dict[str, Any]]) -> None:
    """Each aid a budget line cites is in the aids catalogue (422 naming the line's `aid_id` otherwise)."""
    cited = {line["aid_id"] for line in lines if line.get("aid_id") is not None}
    known = await ActionRepository(session).known_aid_ids(cited)
    _raise_if(
        [
            (["body", "budget_lines", index, "aid_id"], f"no aid {line['aid_id']} in the aids catalogue")
            for index, line in enumerate(lines)
            if line.get("aid_id") is not None and line["aid_id"] not in known
        ]
    )


async def create_action(
    session: AsyncSession,
    *,
    data: ActionCreate,
    principal: Principal,
    levers: LeversClient,
    proposal_id: uuid.UUID | None = None,
) -> Action:
    """`proposal_id`: the debate's proposal the action is promoted from (planeco_actions.debate), kept
    with it."""
    _raise_if(
        calendar_errors(data.start_date, data.end_date, data.phases)
        + budget_errors(data.budget_lines)
        + lever_errors(data.lever_id, data.other_lever_ids)
    )
    await _check_cited_aids(session, data.model_dump(mode="json", include={"budget_lines"})["budget_lines"])
    check = ReferenceCheck()
    place = await resolve_territory(levers, data.territory, check=check, loc=["body", "territory"])
    sectors = await _lever_sectors(levers, data.lever_id, data.other_lever_ids, check=check)
    carriers = await _actors(levers, data.carriers, check=check, field="carriers")
    partners = await _actors(levers, data.partners, check=check, field="partners")
    check.raise_if_any()
    assert place is not None  # raise_if_any raised otherwise
    ensure_may_act_on(principal, place.scope)
    refused: list[FieldError] = []
    impacts = await impact_rules.derive(
        levers,
        data.impacts,
        region=place.region,
        action_levers=_levers_of(data.lever_id, data.other_lever_ids),
        check=check,
        errors=refused,
    )
    _raise_refusals(check, refused)
    await _ensure_external_id_free(
        session, None, level=place.level.value, code=place.code, external_id=data.external_id
    )
    values = data.model_dump(exclude={"territory", "carriers", "partners", "impacts", *_JSON_LISTS})
    if principal.role is Role.contributor:  # a contributor proposes; a coordinator accepts or refuses
        values |= {"status": ActionStatus.proposee, "published": False}
    values |= data.model_dump(mode="json", include=set(_JSON_LISTS))
    action = Action(
        **values,
        carriers=carriers,
        partners=partners,
        impacts=impacts,
        expected_impact_ktco2e=impact_rules.total(impacts),
        **place.columns(),
        created_by=principal.subject,
        proposal_id=proposal_id,
    )
    _derive(action, sectors)
    action = await ActionRepository(session).add(action)
    fields = FIELDS + (["proposal_id"] if proposal_id is not None else [])
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action="create",
        entity_type=ENTITY,
        entity_id=str(action.id),
        changes=audit.snapshot(action, fields),
    )
    return action


async def get_published_action(session: AsyncSession, action_id: uuid.UUID) -> Action:
    """A published action (not archived): anyone's to read."""
    action = await ActionRepository(session).get(action_id)
    if action is None or not action.published or action.archived_at is not None:
        raise NotFound(f"No published action {action_id}")
    return action


async def list_published_actions(
    session: AsyncSession, *, filters: ActionFilters, params: PageParams
) -> Page[ActionRead]:
    statement = ActionRepository(session).list_statement(
        filters, regions=None, include_archived=False, published_only=True
    )
    return await paginate_into(session, statement, params, ActionRead.of)


async def get_action(
    session: AsyncSession,
    action_id: uuid.UUID,
    *,
    regions: frozenset[str] | None,
    include_archived: bool = False,
) -> Action:
    """The action, if the caller may see it (`regions`: those it may see; None: all). Another région's
    action is a 404, as if it did not exist: its existence is not the caller's to know; so is an
    archived one, unless `include_archived`."""
    action = await ActionRepository(session).get(action_id)
    if (
        action is None
        or (regions is not None and action.region_code not in regions)
        or is_hidden(action, include_archived)
    ):
        raise NotFound(f"No action {action_id}")
    return action


def scope_of(action: Action) -> Territory:
    """The action's territory as planeco_shared.scopes decides on it, from what the row stores."""
    level = Level(action.territory_level)
    departements = frozenset({action.departement_code}) if action.departement_code else frozenset()
    epcis = frozenset({action.territory_code}) if level is Level.epci else frozenset()
    siren = action.territory_siren
    return Territory(
        level,
        action.territory_code,
        regions=frozenset({action.region_code}),
        departements=departements,
        epcis=epcis,
        siren=siren,
    )


class FundingTarget(NamedTuple):
    """What an action asks funding for: its levers (main first), its territory and its carriers (as
    stored: a collectivité with its `territory`, an organisation with its `name` and `kind`)."""

    lever_ids: tuple[str, ...]
    territory: Territory
    carriers: tuple[dict[str, Any], ...]


def funding_target(action: Action) -> FundingTarget:
    """The lever ids (main, then the others), the territory and the carriers of `action` (from
    `get_action`): what the aids module matches aids against. The one read of an action it makes."""
    levers = tuple(([action.lever_id] if action.lever_id else []) + list(action.other_lever_ids))
    return FundingTarget(levers, scope_of(action), tuple(action.carriers or ()))


async def action_to_change(
    session: AsyncSession,
    action_id: uuid.UUID,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
    include_archived: bool = False,
) -> Action:
    """The action, if the caller may see it (404 otherwise) and change it (403 otherwise)."""
    action = await get_action(session, action_id, regions=regions, include_archived=include_archived)
    ensure_may_act_on(principal, scope_of(action))
    return action


async def set_archived(
    session: AsyncSession, action: Action, archived: bool, *, principal: Principal
) -> Action:
    """Archive or restore `action` (from `action_to_change`): audited, a new version."""
    archive.set_archived(
        session,
        AuditEntry,
        action,
        archived,
        principal=principal,
        entity_type=ENTITY,
        entity_id=str(action.id),
    )
    await session.flush()
    return action


async def list_actions(
    session: AsyncSession,
    *,
    filters: ActionFilters,
    regions: frozenset[str] | None,
    params: PageParams,
    include_archived: bool = False,
) -> Page[ActionRead]:
    statement = ActionRepository(session).list_statement(
        filters, regions=regions, include_archived=include_archived
    )
    return await paginate_into(session, statement, params, ActionRead.of)


async def update_action(
    session: AsyncSession, action: Action, *, data: ActionUpdate, principal: Principal, levers: LeversClient
) -> Action:
    """`action` from `action_to_change` (visibility and scope checked)."""
    if principal.role is Role.contributor:
        if action.status is not ActionStatus.proposee:
            raise Forbidden("A contributor changes a proposal only while it is `proposee`")
        decided = sorted({"status", "published"} & data.model_fields_set)
        if decided:
            raise Forbidden(f"Only coordinators decide {' and '.join(decided)}: a contributor proposes")
    changes = data.model_dump(exclude_unset=True, exclude={"carriers", "partners", "impacts", *_JSON_LISTS})
    changes |= data.model_dump(mode="json", exclude_unset=True, include=set(_JSON_LISTS))
    start = changes.get("start_date", action.start_date)
    end = changes.get("end_date", action.end_date)
    phases = changes.get("phases", action.phases)
    lever_id = changes.get("lever_id", action.lever_id)
    others = changes.get("other_lever_ids", action.other_lever_ids)
    _raise_if(
        calendar_errors(start, end, phases)
        + budget_errors(changes.get("budget_lines", action.budget_lines))
        + lever_errors(lever_id, others)
    )
    if "budget_lines" in changes:
        await _check_cited_aids(session, changes["budget_lines"])
    check = ReferenceCheck()
    sectors = await _lever_sectors(levers, lever_id, others, check=check)
    for field in ("carriers", "partners"):
        if field in data.model_fields_set:
            changes[field] = await _actors(levers, getattr(data, field), check=check, field=field)
    check.raise_if_any()
    refused: list[FieldError] = []
    action_levers = _levers_of(lever_id, others)
    if "impacts" in data.model_fields_set:
        changes["impacts"] = await impact_rules.derive(
            levers,
            data.impacts,
            region=action.region_code,
            action_levers=action_levers,
            check=check,
            errors=refused,
        )
        changes["expected_impact_ktco2e"] = impact_rules.total(changes["impacts"])
    else:
        refused += [
            FieldError(
                loc=["body", "impacts"],
                msg=f"an impact is recorded for lever {impact['lever_id']!r}: change impacts with the levers",
                type="value_error",
            )
            for impact in action.impacts
            if impact["lever_id"] not in action_levers
        ]
    _raise_refusals(check, refused)
    if "external_id" in changes:
        await _ensure_external_id_free(
            session,
            action,
            level=action.territory_level.value,
            code=action.territory_code,
            external_id=changes["external_id"],
        )
    audit.apply_update(
        session,
        AuditEntry,
        action,
        changes,
        principal=principal,
        entity_type=ENTITY,
        entity_id=str(action.id),
    )
    _derive(action, sectors)
    await session.flush()
    return action


async def action_history(
    session: AsyncSession, action_id: uuid.UUID, *, regions: frozenset[str] | None, params: PageParams
) -> Page[HistoryEntry]:
    await get_action(session, action_id, regions=regions, include_archived=True)  # the archive is history
    statement = ActionRepository(session).history_statement(action_id)
    return await history_page(session, statement, params, field_order=FIELDS)


async def recompute_impacts(
    session: AsyncSession, action: Action, *, version: str, principal: Principal, levers: LeversClient
) -> ImpactRecompute:
    """Convert the entered quantity of each impact again, with the factors of `version`: the explicit
    call that moves a figure to another panorama version (audited `recompute`, old → new)."""
    check = ReferenceCheck()
    refused: list[FieldError] = []
    new = await impact_rules.derive(
        levers,
        impact_rules.as_inputs(action.impacts),
        region=action.region_code,
        action_levers=_levers_of(action.lever_id, action.other_lever_ids),
        check=check,
        errors=refused,
        version=version,
    )
    _raise_refusals(check, refused)
    old = list(action.impacts)
    audit.apply_update(
        session,
        AuditEntry,
        action,
        {"impacts": new, "expected_impact_ktco2e": impact_rules.total(new)},
        principal=principal,
        entity_type=ENTITY,
        entity_id=str(action.id),
        action="recompute",
    )
    await session.flush()
    return ImpactRecompute(
        action_id=action.id,
        version=version,
        revision=action.version,
        changes=[
            ImpactChange(
                lever_id=before["lever_id"],
                old=ImpactRead.model_validate(before),
                new=ImpactRead.model_validate(after),
            )
            for before, after in zip(old, new, strict=True)
        ],
    )
