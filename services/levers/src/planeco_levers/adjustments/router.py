"""Regional adjustments: a région's own objective per lever, in ktCO2e or in the physical unit, with its
progress (réalisé / planifié), beside the official panorama.

Reads of the adjustments are public: a région's adjusted objectives are part of its published panorama
(open data, like the official figures they stand next to). The history is for authenticated callers only:
it names every actor and role and keeps every intermediate draft, working records rather than the
published result. Writes are for the région's coordinators and national admins.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status

from planeco_levers.adjustments import service
from planeco_levers.adjustments.schemas import AdjustmentPut, AdjustmentRead
from planeco_levers.panoramas.importer import LEVER_ID_PATTERN
from planeco_levers.panoramas.router import Version
from planeco_shared.caching import if_none_match_matches
from planeco_shared.codes import RegionPath
from planeco_shared.concurrency import IF_MATCH_REQUIRED, check_if_match, precondition_headers
from planeco_shared.database import SessionDep
from planeco_shared.history import HistoryEntry
from planeco_shared.identity import (
    PUBLIC,
    AnyCaller,
    Authenticated,
    Principal,
    RequireRole,
    Role,
)
from planeco_shared.pagination import Page, PageDep
from planeco_shared.problems import PreconditionFailed, problem_responses
from planeco_shared.scopes import Territory, ensure_may_act_on

router = APIRouter(prefix="/panoramas", tags=["adjustments"], responses=problem_responses(401))

LeverId = Annotated[str, Path(pattern=LEVER_ID_PATTERN, description="Lever id", examples=["augm_voitelec"])]
Coordinator = Annotated[Principal, Depends(RequireRole(Role.coordinator))]

PATH = "/{version}/regions/{code}/adjustments"
ITEM_PATH = PATH + "/{lever_id}"

MODEL = """**Model.** One adjustment per région and lever, whatever the version: it is *anchored* on the
panorama version it was last saved through (`anchored_version`), whose ratio and 2019 value (copied when
saved, shown as `ratio` and `start_2019`) convert it. Importing a new panorama version does not move it:
reads through another version still show it, with `anchored_on_this_version: false`; saving it again
through the new version re-anchors it (and converts it with the new factors).

**Units.** The région gives its objective in ktCO2e (`objective_ktco2e`) or in the lever's physical unit
(`objective_physical`); the value given is stored exactly (at most 6 decimals) and the other is derived as
the SGPE simulator converts: physical = max(0, start_2019 + ktCO2e × ratio), exact (`clamped` when the 0 floor
applies); ktCO2e = (physical − start_2019) / ratio to 12 decimal places (ROUND_HALF_EVEN); `*_rounded` are the
simulator's displayed values (ktCO2e whole, physical to one decimal, halves up). The simulator's bounds apply
(ktCO2e ≥ 0; a physical value on the right side of the 2019 value).

**Progress.** `done_ktco2e` (réalisé): the part of the objective that actions already carried out deliver;
`planned_ktco2e` (planifié): the part that actions decided and scheduled, not yet carried out, will deliver.
Both in ktCO2e avoided in 2030, ≥ 0, optional; `remaining_ktco2e` = objective − done − planned.
"""


@router.get(
    PATH,
    response_model=Page[AdjustmentRead],
    summary="A région's adjustments, by lever id (public)",
    description="Every lever the région gave its own objective for, whatever the version it is anchored on. "
    "Not cached: coordinators read the ETags they send back.\n\n" + MODEL,
    responses=problem_responses(404),
    openapi_extra=PUBLIC,
)
async def list_adjustments(
    version: Version, code: RegionPath, session: SessionDep, _caller: AnyCaller, page: PageDep
) -> Page[AdjustmentRead]:
    return await service.list_adjustments(session, version, code, page)


@router.get(
    ITEM_PATH,
    response_model=AdjustmentRead,
    summary="A région's adjustment of one lever (public)",
    description="404 when the région has none for the lever (the official objective applies). The `ETag` "
    "header is what `If-Match` must carry to replace or delete it.\n\n" + MODEL,
    responses=problem_responses(404),
    openapi_extra=PUBLIC,
)
async def get_adjustment(
    version: Version,
    code: RegionPath,
    lever_id: LeverId,
    session: SessionDep,
    _caller: AnyCaller,
    response: Response,
) -> AdjustmentRead:
    resolved, adjustment = await service.find_active(session, version, code, lever_id)
    if adjustment is None:
        raise service.no_adjustment(code, lever_id)
    response.headers["ETag"] = service.adjustment_etag(adjustment)
    return service.adjustment_read(adjustment, resolved)


def _check_put_preconditions(request: Request, plan: service.PutPlan) -> None:
    current = plan.current
    current_etag = service.adjustment_etag(current) if current is not None else None
    if_none_match = request.headers.get("if-none-match")
    if (
        if_none_match is not None
        and current_etag is not None
        and if_none_match_matches(if_none_match.encode("latin-1"), current_etag.encode())
    ):
        raise PreconditionFailed(
            f"Région {plan.code} already has an adjustment for {plan.lever_id} (If-None-Match): read it "
            "and replace it with If-Match",
            headers={"ETag": current_etag},
        )
    if current_etag is None:
        if request.headers.get("if-match") is not None:
            raise PreconditionFailed(
                f"Région {plan.code} has no adjustment for {plan.lever_id}: send no If-Match to create it"
            )
        return
    if request.headers.get("if-match") is None and not plan.changes:
        return  # a retried PUT that changes nothing cannot lose an update
    check_if_match(request, current_etag)


@router.put(
    ITEM_PATH,
    response_model=AdjustmentRead,
    summary="Set the région's own objective for a lever (coordinator of the région, admin)",
    description="Creating needs no precondition (201; `If-None-Match: *` refuses to overwrite an existing "
    "adjustment: 412). Replacing needs `If-Match` with the current `ETag` (428 without, 412 when stale). "
    "The PUT replaces the whole adjustment (an omitted `done_ktco2e` or `planned_ktco2e` becomes not "
    "stated) and is idempotent: the same body again changes nothing (same ETag, no history entry; it then "
    "needs no If-Match). Exactly one of `objective_ktco2e` / `objective_physical` (422 `one-objective`); "
    "levers without a physical unit take ktCO2e only (422 `no-physical-unit`); levers the version marks not "
    "editable refuse any adjustment (422 `lever-not-editable`). Every change is in the history.\n\n" + MODEL,
    responses={
        201: {"model": AdjustmentRead, "description": "Adjustment created"},
        **problem_responses(403, 404, 409, 412, 422, 428),
    },
    openapi_extra=precondition_headers(if_match_required=False, if_none_match=True),
)
async def put_adjustment(
    version: Version,
    code: RegionPath,
    lever_id: LeverId,
    body: AdjustmentPut,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Coordinator,
) -> AdjustmentRead:
    ensure_may_act_on(principal, Territory.region(code))
    plan = await service.plan_put(session, version, code, lever_id, body)
    _check_put_preconditions(request, plan)
    adjustment, created = await service.apply_put(session, plan, principal=principal)
    if created:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = (
            f"/api/v1/panoramas/{plan.version}/regions/{code}/adjustments/{lever_id}"
        )
    response.headers["ETag"] = service.adjustment_etag(adjustment)
    return service.adjustment_read(adjustment, plan.version)


@router.delete(
    ITEM_PATH,
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Withdraw the région's adjustment, back to the official objective (coordinator, admin)",
    description="`If-Match` with the adjustment's current `ETag` is required (428 without, 412 when stale). "
    "Recorded in the history (every field old → null).",
    responses=problem_responses(403, 404, 412, 428),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def delete_adjustment(
    version: Version,
    code: RegionPath,
    lever_id: LeverId,
    request: Request,
    session: SessionDep,
    principal: Coordinator,
) -> Response:
    ensure_may_act_on(principal, Territory.region(code))
    _resolved, adjustment = await service.find_active(session, version, code, lever_id)
    if adjustment is None:
        raise service.no_adjustment(code, lever_id)
    check_if_match(request, service.adjustment_etag(adjustment))
    await service.withdraw(session, adjustment, principal=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    ITEM_PATH + "/history",
    response_model=Page[HistoryEntry],
    summary="Every change of a région's adjustment of a lever: who, when, old → new (authenticated)",
    description="Newest first. `action` is create (the région states its own figure), update (changes it) or "
    "delete (back to the official value). Each entry lists every field that changed, in this order: "
    "anchored_version, entered_unit, objective_ktco2e, objective_physical, comment, done_ktco2e, "
    "planned_ktco2e, ratio, start_2019; derived values included (`objective_ktco2e` when the physical "
    "value was given, and conversely). Values are strings as the API writes them (decimals in plain "
    "notation), null for no value. Authenticated callers only: the history names actors and keeps "
    "intermediate drafts; the published adjustment itself is public.",
    responses=problem_responses(404),
)
async def get_adjustment_history(
    version: Version,
    code: RegionPath,
    lever_id: LeverId,
    session: SessionDep,
    _principal: Authenticated,
    page: PageDep,
) -> Page[HistoryEntry]:
    return await service.history(session, version, code, lever_id, page)
