"""Panoramas: the versions of the SGPE panorama and their figures by région, nationally, compared.

Published panoramas are open data: every read is public. Importing a version is for national admins.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from planeco_levers.panoramas import exports, service
from planeco_levers.panoramas.importer import LEVER_ID_PATTERN, VERSION_PATTERN
from planeco_levers.panoramas.schemas import (
    ComparisonRead,
    ImportOutcome,
    ImportReport,
    NationalPanoramaRead,
    PanoramaVersionRead,
    RegionLeverRead,
    RegionPanoramaRead,
    RegionSummary,
)
from planeco_shared.caching import public_cache
from planeco_shared.codes import REGION_PATTERN, RegionPath
from planeco_shared.database import SessionDep
from planeco_shared.identity import PUBLIC, AnyCaller, Principal, RequireRole
from planeco_shared.pagination import Page, PageDep
from planeco_shared.problems import NotFound, problem_responses
from planeco_shared.tabular import add_export_route
from planeco_shared.text import FreeText
from planeco_shared.uploads import JSON_MEDIA_TYPES, read_upload

MAX_IMPORT_BYTES = 20 * 1024 * 1024

router = APIRouter(prefix="/panoramas", tags=["panoramas"], responses=problem_responses(401))

LATEST = "latest"


async def path_version(
    session: SessionDep,
    version: Annotated[
        str,
        Path(
            pattern=f"^({LATEST}|{VERSION_PATTERN.strip('^$')})$",
            description="Panorama version: the SGPE release date, or `latest` for the most recent one (the "
            "response's `version` says which)",
            examples=["2024-07-24"],
        ),
    ],
) -> str:
    """`latest` → the most recent imported version; a date stays as is (an unknown one is a 404 later)."""
    if version != LATEST:
        return version
    latest = await service.latest_version(session)
    if latest is None:
        raise NotFound("No panorama version is imported yet")
    return latest


# Every route under /panoramas/{version}/… takes the version through it (adjustments and declination too).
Version = Annotated[str, Depends(path_version)]
LeverId = Annotated[str, Path(pattern=LEVER_ID_PATTERN, description="Lever id", examples=["augm_voitelec"])]


@router.get(
    "",
    response_model=Page[PanoramaVersionRead],
    summary="List the panorama versions, latest first (public)",
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def list_panorama_versions(
    session: SessionDep, _caller: AnyCaller, page: PageDep
) -> Page[PanoramaVersionRead]:
    return await service.list_versions(session, page)


@router.get(
    "/{version}",
    response_model=PanoramaVersionRead,
    summary="One panorama version: source, checksums, counts, import warnings (public)",
    responses=problem_responses(404),
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def get_panorama_version(
    version: Version, session: SessionDep, _caller: AnyCaller
) -> PanoramaVersionRead:
    return await service.get_version(session, version)


@router.get(
    "/{version}/regions",
    response_model=Page[RegionSummary],
    summary="The régions of a version with their lever count and total (public)",
    responses=problem_responses(404),
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def list_panorama_regions(
    version: Version, session: SessionDep, _caller: AnyCaller, page: PageDep
) -> Page[RegionSummary]:
    return Page.of_all(await service.list_regions(session, version), page)


@router.get(
    "/{version}/regions/{code}",
    response_model=RegionPanoramaRead,
    summary="A région's panorama: every lever's objective, physical equivalent, totals by sector (public)",
    description=(
        "Figures are exact decimals as strings, equal to the SGPE file. `physical_2030` = "
        "max(0, start_2019 + objective_ktco2e × ratio), exact; `physical_2030_rounded` is the simulator's "
        "display (one decimal, halves up). Totals are exact sums. Beside each official figure, `adjusted` is "
        "the région's own objective (null when none; see the adjustments endpoints), and `adjusted_*` totals "
        "sum the adjusted view (adjusted where present, official otherwise). Like every cached public read, "
        "a change shows within the cache life (5 minutes). As a file: `exportRegionPanorama`."
    ),
    responses=problem_responses(404),
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def get_region_panorama(
    version: Version, code: RegionPath, session: SessionDep, _caller: AnyCaller
) -> RegionPanoramaRead:
    return await service.region_panorama(session, version, code)


add_export_route(
    router,
    "/{version}/regions/{code}",
    get_region_panorama,
    name="export_region_panorama",
    summary="A région's panorama as a CSV or XLSX file (public)",
    description="The figures of `getRegionPanorama`, as a file.\n"
    + exports.file_text("planeco-panorama-2024-07-24-region-24.csv")
    + "\nThe file has one row per lever (`row_type` `lever`: official figures, then the adjusted ones "
    "when the région stated them), then one `sector_total` row per sector and a `region_total` row.",
    filename=lambda view, _arguments: exports.region_filename(view),
    table=exports.region_table,
    responses=problem_responses(404),
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)


@router.get(
    "/{version}/regions/{code}/levers/{lever_id}",
    response_model=RegionLeverRead,
    summary="One lever in one région, with the official explanatory text and every flag (public)",
    responses=problem_responses(404),
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def get_region_lever(
    version: Version, code: RegionPath, lever_id: LeverId, session: SessionDep, _caller: AnyCaller
) -> RegionLeverRead:
    return await service.region_lever(session, version, code, lever_id)


@router.get(
    "/{version}/national",
    response_model=NationalPanoramaRead,
    summary="National sums: each lever and sector summed over the régions, exactly (public)",
    description="Each lever's objective summed over the régions that have it, each sector's, and the total; "
    "exact decimals as strings. As a file: `exportNationalPanorama`.",
    responses=problem_responses(404),
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def get_national_panorama(
    version: Version, session: SessionDep, _caller: AnyCaller
) -> NationalPanoramaRead:
    return await service.national(session, version)


add_export_route(
    router,
    "/{version}/national",
    get_national_panorama,
    name="export_national_panorama",
    summary="National sums as a CSV or XLSX file (public)",
    description="The figures of `getNationalPanorama`, as a file.\n"
    + exports.file_text("planeco-panorama-2024-07-24-national.csv")
    + "\nThe file has one row per lever (`row_type` `lever`, with `region_count` and the régions' codes), "
    "then one `sector_total` row per sector and a `national_total` row.",
    filename=lambda view, _arguments: exports.national_filename(view),
    table=exports.national_table,
    responses=problem_responses(404),
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)


@router.get(
    "/{version}/compare",
    response_model=ComparisonRead,
    summary="Differences per lever between two versions, for a région or nationally (public)",
    description="Per lever: its objective in the earlier version (`from`), in this one, the exact difference "
    "and whether it was added, removed, changed or unchanged; totals likewise. As a file: "
    "`exportPanoramaComparison`.",
    responses=problem_responses(404),
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def compare_panorama_versions(
    version: Version,
    session: SessionDep,
    _caller: AnyCaller,
    from_version: Annotated[
        str,
        Query(
            alias="from", pattern=VERSION_PATTERN, description="The earlier version", examples=["2024-04-08"]
        ),
    ],
    region: Annotated[
        str | None,
        Query(pattern=REGION_PATTERN, description="INSEE code of a région; omitted: national sums"),
    ] = None,
) -> ComparisonRead:
    return await service.compare(session, version, from_version, region)


add_export_route(
    router,
    "/{version}/compare",
    compare_panorama_versions,
    name="export_panorama_comparison",
    summary="The differences between two versions as a CSV or XLSX file (public)",
    description="The comparison of `comparePanoramaVersions`, as a file.\n"
    + exports.file_text("planeco-comparison-2024-04-08-to-2024-07-24-region-11.csv")
    + "\nThe file has one row per lever (`row_type` `lever`, `status`) and a `total` row; the versions, the "
    "région and the added and removed levers are in its metadata.",
    filename=lambda view, _arguments: exports.comparison_filename(view),
    table=exports.comparison_table,
    responses=problem_responses(404),
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)


IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The SGPE panorama file as is: a JSON array, one object per lever × région",
        "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}},
    }
}


@router.post(
    "/imports",
    response_model=ImportReport,
    status_code=status.HTTP_201_CREATED,
    summary="Import a panorama version (admin): all or nothing, row-level errors, idempotent",
    description=(
        "The body is the SGPE file. The whole file is validated first; any error refuses it (422, "
        "`errors[].loc` = ['row', index from 0, field]) and nothing changes. The same content again answers "
        "200 `unchanged`; other content for an existing version is a 409 unless `replace=true`."
    ),
    responses={
        200: {"model": ImportReport, "description": "Already imported with the same content"},
        **problem_responses(403, 409, 413, 415, 422),
    },
    openapi_extra=IMPORT_BODY,
)
async def import_panorama(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Annotated[Principal, Depends(RequireRole())],
    version: Annotated[
        str, Query(description="Version id: the SGPE release date, YYYY-MM-DD", examples=["2024-07-24"])
    ],
    replace: Annotated[bool, Query(description="Overwrite a version imported with other content")] = False,
    source_file: Annotated[
        FreeText, Query(max_length=255, description="Name of the source file, for the record")
    ] = "upload.json",
) -> ImportReport:
    body = await read_upload(
        request, media_types=JSON_MEDIA_TYPES, max_bytes=MAX_IMPORT_BYTES, what="a panorama file"
    )
    report = await service.import_panorama(
        session, body, version=version, source_file=source_file, principal=principal, replace=replace
    )
    if report.outcome is ImportOutcome.unchanged:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/panoramas/{report.version}"
    return report
