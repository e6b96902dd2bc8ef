"""Declination of regional objectives below the région: public figures, keys uploaded by coordinators."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from planeco_levers.declination import exports, service
from planeco_levers.declination.key_csv import KEY_CSV_FORMAT
from planeco_levers.declination.models import DeclinationLevel
from planeco_levers.declination.schemas import (
    CustomKeyRead,
    DeclinationKeysRead,
    DeclinationRead,
    ObjectiveBasis,
    Precision,
    UploadLevel,
)
from planeco_levers.panoramas.exports import file_text
from planeco_levers.panoramas.router import LeverId, Version
from planeco_shared.caching import public_cache
from planeco_shared.codes import RegionPath
from planeco_shared.concurrency import IF_MATCH_REQUIRED, check_if_match, precondition_headers
from planeco_shared.database import SessionDep
from planeco_shared.identity import PUBLIC, AnyCaller, Principal, RequireRole, Role
from planeco_shared.problems import NotFound, PreconditionFailed, problem_responses
from planeco_shared.scopes import Territory, ensure_may_act_on
from planeco_shared.tabular import add_export_route
from planeco_shared.text import FreeText
from planeco_shared.uploads import CSV_MEDIA_TYPES, csv_request_body, read_upload

router = APIRouter(prefix="/panoramas", tags=["declination"], responses=problem_responses(401))

MAX_KEY_BYTES = 1024 * 1024
# Declined figures move when a région uploads a key: a shorter cache life than the territories'.
DECLINATION_MAX_AGE = 60

PrecisionQuery = Annotated[
    Precision,
    Query(description="Published precision of every declined figure (ktCO2e and physical units)"),
]
LeverFilter = Annotated[
    list[str] | None,
    Query(
        alias="lever_id",
        description="Only these levers (repeat the parameter for several); unknown ids answer 404",
        examples=[["augm_voitelec"]],
    ),
]
BasisQuery = Annotated[
    ObjectiveBasis,
    Query(
        description="`official`: the panorama's objectives; `adjusted`: the région's own objective for the "
        "levers where it stated one (PUT …/adjustments/{lever_id}), the official one elsewhere"
    ),
]
LevelQuery = Annotated[UploadLevel, Query(description="Départements or EPCI of the région")]


RULES = """
**Key.** Each lever is declined with its key (returned with the figures as `key`): the population by default
(INSEE population municipale 2023, COG 2026, summed from the communes), or the key the région uploaded for the
lever at this level (`PUT /api/v1/declination-keys/regions/{code}/{lever_id}`). A custom key that
no longer lists exactly the région's current children is not used (population applies; `key.note` says so).

**Objective.** By default the panorama's (`basis=official`). With `basis=adjusted`, a lever for which the
région stated its own objective (regional adjustment) is declined from that objective, converted with the
factors of the version the adjustment is anchored on (`region.basis`, `region.anchored_version`).

**Rounding.** The région's objective is rounded to `precision` (0.1 kt by default), halves away from zero
(ROUND_HALF_UP; for the non-negative figures of the SGPE files this is the simulator's rounding), and
apportioned by largest remainder (Hamilton): each child first gets its exact quota rounded down to
`precision`, then the missing units go one by one to the largest remainders (ties: larger weight, then lower
code). The children's `objective_ktco2e` add up EXACTLY to `region.objective_ktco2e_rounded`; each differs
from its exact quota (objective × weight / Σ weights) by less than `precision`. `region.objective_ktco2e` is
the exact figure of the panorama. `totals` sum each child's figures over the levers returned; they add up to
`total_ktco2e_rounded`, the sum of the levers' rounded objectives.

**Physical units.** A child's exact 2019 value is the région's start_2019 × its share (the key stands in for
2019 values, which are not measured per territory); its 2030 value is start_2019_child + ktCO2e_child × ratio
= the région's max(0, start_2019 + objective × ratio) × its share, clamped at 0 as the simulator does.
Both are apportioned the same way at `precision`, so the children's `start_2019` and `physical_2030` add up
exactly to `region.start_2019_rounded` and `region.physical_2030_rounded`. Units that are intensities (kg per
inhabitant, km per car, L/100 km, kg/MWh) do not add up across territories: they are not declined
(`physical_method: not_additive`, children's physical fields null); levers without a physical unit have
`physical_method: none`.
"""

COMMON_RESPONSES = problem_responses(404, 409, 422)

FILES_TEXT = (
    file_text("planeco-declination-2024-07-24-region-24-departements.csv")
    + """
The file has, for each lever, a `region` row (the région's figures at `precision`, with the exact ones in
`*_exact` columns) then one `child` row per child (`weight`, `share`, declined figures); then a
`child_total` row per child and a `region_total` row. `territory_type` (`région`, `département`, `EPCI`,
`CRTE`) and `code_type` (`INSEE`, `SIREN`, `CRTE id`) say what each code is. Options that are not the
defaults (`basis`, `precision`, `lever_id`) are in the file name and the metadata.
"""
)

EPCI_TEXT = """The children are the EPCI à fiscalité propre attached to the région by the territories
rule (the région holding most of the EPCI's population, ties to the lowest code): an EPCI spanning two régions
receives a share of its attachment région's objectives only, weighted by its whole population. Communes in no
EPCI (four islands) are not covered.
"""

CRTE_TEXT = """The children are the CRTE of the région, uploaded with `POST /api/v1/territories/crtes/imports`
(409 `no-crte` when none is). CRTE are always declined by population: the communes each CRTE covers, directly
or through its member EPCI; communes in no CRTE are not covered.
"""

PUT_TEXT = """Send the CSV as the body with `Content-Type: text/csv` (at most 1 MiB). Creating a key needs no
precondition (201); replacing one needs `If-Match` with its current `ETag` (428 without, 412 when stale). The
same CSV, name and source again change nothing (same version, no audit entry). Every change is audited. The
key applies to every panorama version.

"""


@dataclass(frozen=True, slots=True)
class Options:
    precision: Precision
    levers: list[str] | None
    basis: ObjectiveBasis


async def declination_options(
    precision: PrecisionQuery = Precision.tenth,
    lever: LeverFilter = None,
    basis: BasisQuery = ObjectiveBasis.official,
) -> Options:
    return Options(precision, lever, basis)


OptionsDep = Annotated[Options, Depends(declination_options)]


async def _declination(
    session: SessionDep, version: str, code: str, level: DeclinationLevel, options: Options
) -> DeclinationRead:
    return await service.declination(
        session,
        version,
        code,
        level,
        precision=options.precision,
        lever_ids=options.levers,
        basis=options.basis,
    )


def _export(path: str, read: Callable[..., Awaitable[DeclinationRead]], name: str, children: str) -> None:
    add_export_route(
        router,
        path,
        read,
        name=name,
        summary=f"Each lever's objective declined to the {children} as a CSV or XLSX file (public)",
        description=f"The figures of the JSON read at `{path}`, as a file.\n" + FILES_TEXT,
        filename=lambda view, arguments: exports.filename(
            view, arguments["options"].precision, arguments["options"].levers
        ),
        table=exports.table,
        responses=COMMON_RESPONSES,
        openapi_extra=PUBLIC,
        dependencies=[public_cache(DECLINATION_MAX_AGE)],
    )


@router.get(
    "/{version}/regions/{code}/departements",
    response_model=DeclinationRead,
    summary="Each lever's objective declined to the région's départements (public)",
    description="Every département of the région receives a part of each lever's objective.\n" + RULES,
    responses=COMMON_RESPONSES,
    openapi_extra=PUBLIC,
    dependencies=[public_cache(DECLINATION_MAX_AGE)],
)
async def decline_to_departements(
    version: Version, code: RegionPath, session: SessionDep, _caller: AnyCaller, options: OptionsDep
) -> DeclinationRead:
    return await _declination(session, version, code, DeclinationLevel.departement, options)


_export(
    "/{version}/regions/{code}/departements",
    decline_to_departements,
    "export_departements_declination",
    "région's départements",
)


@router.get(
    "/{version}/regions/{code}/epcis",
    response_model=DeclinationRead,
    summary="Each lever's objective declined to the EPCI attached to the région (public)",
    description=EPCI_TEXT + RULES,
    responses=COMMON_RESPONSES,
    openapi_extra=PUBLIC,
    dependencies=[public_cache(DECLINATION_MAX_AGE)],
)
async def decline_to_epcis(
    version: Version, code: RegionPath, session: SessionDep, _caller: AnyCaller, options: OptionsDep
) -> DeclinationRead:
    return await _declination(session, version, code, DeclinationLevel.epci, options)


_export(
    "/{version}/regions/{code}/epcis",
    decline_to_epcis,
    "export_epcis_declination",
    "EPCI attached to the région",
)


@router.get(
    "/{version}/regions/{code}/crtes",
    response_model=DeclinationRead,
    summary="Each lever's objective declined to the CRTE uploaded for the région (public)",
    description=CRTE_TEXT + RULES,
    responses=COMMON_RESPONSES,
    openapi_extra=PUBLIC,
    dependencies=[public_cache(DECLINATION_MAX_AGE)],
)
async def decline_to_crte(
    version: Version, code: RegionPath, session: SessionDep, _caller: AnyCaller, options: OptionsDep
) -> DeclinationRead:
    return await _declination(session, version, code, DeclinationLevel.crte, options)


_export(
    "/{version}/regions/{code}/crtes",
    decline_to_crte,
    "export_crte_declination",
    "CRTE uploaded for the région",
)


@router.get(
    "/{version}/regions/{code}/declination-keys",
    response_model=DeclinationKeysRead,
    summary="The key each lever is declined with, per level (public)",
    description="For every lever of the version in the région and every level (départements, EPCI, CRTE): "
    "the key's name, source, kind (default population or custom), who uploaded a custom key and when, and "
    "`note`: why population is a fair or a weak proxy for the lever's sector.",
    responses=problem_responses(404),
    openapi_extra=PUBLIC,
    dependencies=[public_cache(DECLINATION_MAX_AGE)],
)
async def list_declination_keys(
    version: Version, code: RegionPath, session: SessionDep, _caller: AnyCaller
) -> DeclinationKeysRead:
    return await service.declination_keys(session, version, code)


# A région's own keys apply to every panorama version: their own area, beside the versioned reads (under
# /panoramas, `/regions/…` would be ambiguous with `/{version}/…`).
keys_router = APIRouter(prefix="/declination-keys", tags=["declination"], responses=problem_responses(401))
KEY_PATH = "/regions/{code}/{lever_id}"


@keys_router.get(
    KEY_PATH,
    response_model=CustomKeyRead,
    summary="A key uploaded by the région, with its values and when (public)",
    description="404 when the région has no key of its own for the lever at this level (population applies). "
    "The `ETag` header is what `If-Match` must carry to replace or delete the key.",
    responses=problem_responses(404, 422),
    openapi_extra=PUBLIC,
)
async def get_declination_key(
    code: RegionPath,
    lever_id: LeverId,
    level: LevelQuery,
    session: SessionDep,
    _caller: AnyCaller,
    response: Response,
) -> CustomKeyRead:
    key = await service.find_custom_key(session, code, lever_id, level)
    if key is None:
        raise NotFound(
            f"Région {code} has no key of its own for {lever_id} at the {level.value} level: "
            "population applies"
        )
    response.headers["ETag"] = service.key_etag(key)
    return await service.custom_key_read(session, key)


KEY_BODY = csv_request_body("code;value\n18;1200.5\n28;987\n36;0\n")


@keys_router.put(
    KEY_PATH,
    response_model=CustomKeyRead,
    status_code=status.HTTP_200_OK,
    summary="Upload the région's own key for a lever (coordinator of the région, admin)",
    description=PUT_TEXT + KEY_CSV_FORMAT,
    responses={
        201: {"model": CustomKeyRead, "description": "Key created"},
        **problem_responses(403, 404, 412, 413, 415, 422, 428),
    },
    openapi_extra=KEY_BODY | precondition_headers(if_match_required=False),
)
async def put_declination_key(
    code: RegionPath,
    lever_id: LeverId,
    level: LevelQuery,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Annotated[Principal, Depends(RequireRole(Role.coordinator))],
    name: Annotated[
        FreeText,
        Query(min_length=1, max_length=120, description="What the weights are", examples=["SAU 2020"]),
    ] = "custom key",
    source: Annotated[
        FreeText | None,
        Query(
            max_length=300,
            description="Where they come from",
            examples=["Agreste, recensement agricole 2020"],
        ),
    ] = None,
) -> CustomKeyRead:
    ensure_may_act_on(principal, Territory.region(code))
    existing = await service.find_custom_key(session, code, lever_id, level)
    if existing is not None:
        check_if_match(request, service.key_etag(existing))
    elif request.headers.get("if-match") is not None:
        raise PreconditionFailed(
            f"Région {code} has no key for {lever_id} at the {level.value} level: "
            "send no If-Match to create it"
        )
    content = await read_upload(request, media_types=CSV_MEDIA_TYPES, max_bytes=MAX_KEY_BYTES, what="a key")
    key, created = await service.put_custom_key(
        session,
        region_code=code,
        lever_id=lever_id,
        level=level,
        content=content,
        name=name.strip() or "custom key",
        source=(source.strip() or None) if source is not None else None,
        principal=principal,
        existing=existing,
    )
    if created:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = (
            f"/api/v1/declination-keys/regions/{code}/{lever_id}?level={level.value}"
        )
    response.headers["ETag"] = service.key_etag(key)
    return await service.custom_key_read(session, key)


@keys_router.delete(
    KEY_PATH,
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete the région's own key: the lever returns to population (coordinator of the région, admin)",
    description="`If-Match` with the key's current `ETag` is required (428 without, 412 when stale). "
    "Audited.",
    responses=problem_responses(403, 404, 412, 422, 428),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def delete_declination_key(
    code: RegionPath,
    lever_id: LeverId,
    level: LevelQuery,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(RequireRole(Role.coordinator))],
) -> Response:
    ensure_may_act_on(principal, Territory.region(code))
    key = await service.find_custom_key(session, code, lever_id, level)
    if key is None:
        raise NotFound(
            f"Région {code} has no key of its own for {lever_id} at the {level.value} level: "
            "population applies"
        )
    check_if_match(request, service.key_etag(key))
    await service.delete_custom_key(session, key, principal=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
