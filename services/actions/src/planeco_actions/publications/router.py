"""Published roadmaps: publish a région's or a département's roadmap (coordinators, admins), read its
publications and their files (anyone, anonymous included: immutable, cacheable forever)."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from planeco_actions.db import IdempotencyKey
from planeco_actions.publications import service
from planeco_actions.publications.schemas import (
    DataFile,
    PublicationCreate,
    PublicationRead,
    PublicationTable,
)
from planeco_actions.roadmaps.schemas import RoadmapRead
from planeco_shared.caching import IMMUTABLE_CACHE_CONTROL, immutable_response, public_cache, strong_etag
from planeco_shared.codes import DepartementPath, RegionPath
from planeco_shared.contract import header
from planeco_shared.database import SessionDep
from planeco_shared.datapackage import DESCRIPTOR
from planeco_shared.idempotency import IDEMPOTENCY_KEY, idempotent_create
from planeco_shared.identity import PUBLIC, AnyCaller, Principal, RequireRole, Role
from planeco_shared.owners import OwnerLevel, ResolvedOwner
from planeco_shared.pagination import Page, PageDep
from planeco_shared.problems import problem_responses
from planeco_shared.runtime import LeversDep, VisibleRegions
from planeco_shared.tabular import (
    CSV_MEDIA_TYPE,
    DECIMAL_DESCRIPTION,
    XLSX_MEDIA_TYPE,
    DecimalMark,
    TabularFormat,
)

router = APIRouter(prefix="/roadmaps", tags=["roadmap-publications"])

Manager = Annotated[Principal, Depends(RequireRole(Role.coordinator))]
Number = Annotated[int, Path(ge=1, le=1_000_000, description="The publication's number", examples=[1])]


async def region_owner(code: RegionPath) -> ResolvedOwner:
    return ResolvedOwner(OwnerLevel.region, code, code)


async def departement_owner(code: RegionPath, departement: DepartementPath) -> ResolvedOwner:
    return ResolvedOwner(OwnerLevel.departement, departement, code)


IMMUTABLE_HEADERS = {
    "ETag": header("Strong validator of these bytes, which never change: send it as `If-None-Match`"),
    "Cache-Control": header(f"`{IMMUTABLE_CACHE_CONTROL}`: a publication never changes"),
}
NOT_MODIFIED = {
    "description": "Not modified: your copy (`If-None-Match`) is current",
    "headers": IMMUTABLE_HEADERS,
}
IMMUTABLE_TEXT = (
    " Public (anonymous callers too) and immutable: the stored bytes, with a strong ETag and "
    f"`Cache-Control: {IMMUTABLE_CACHE_CONTROL}` (304 on a matching `If-None-Match`)."
)


def _binary(media_types: list[str], description: str) -> dict[int | str, dict[str, Any]]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        200: {
            "description": description,
            "content": dict.fromkeys(media_types, binary),
            "headers": {
                **IMMUTABLE_HEADERS,
                "Content-Disposition": header('`attachment; filename="…"` (ASCII)'),
            },
        },
        304: NOT_MODIFIED,
        **problem_responses(404),
    }


def _json(description: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"description": description, "headers": IMMUTABLE_HEADERS},
        304: NOT_MODIFIED,
        **problem_responses(404),
    }


def _file(request: Request, stored: service.StoredFile, *, attachment: bool) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{stored.filename}"'} if attachment else {}
    return immutable_response(
        request, stored.content, media_type=stored.media_type, etag=stored.etag, headers=headers
    )


def _routes(
    level: str, label: str, prefix: str, owner_dependency: Callable[..., Awaitable[ResolvedOwner]]
) -> None:
    """The publication endpoints of one level (`region`, `departement`), under `prefix`."""
    OwnerDep = Annotated[ResolvedOwner, Depends(owner_dependency)]  # noqa: N806 (a type alias)
    base = f"{prefix}/publications"
    who = (
        "the région's coordinators"
        if level == "region"
        else "the coordinators of the département or of its région"
    )

    async def publish(
        owner: OwnerDep,
        data: PublicationCreate,
        request: Request,
        session: SessionDep,
        principal: Manager,
        regions: VisibleRegions,
        levers: LeversDep,
    ) -> Response:
        create = await idempotent_create(session, IdempotencyKey, request, subject=principal.subject)
        if create.replay is not None:
            return create.replay
        publication = await service.publish(
            session, owner, data, principal=principal, regions=regions, levers=levers
        )
        location = f"{service.base_path(owner)}/{publication.number}"
        read = await service.read(session, publication)
        return await create.respond(read, status_code=201, headers={"Location": location})

    router.add_api_route(
        base,
        publish,
        methods=["POST"],
        name=f"publish_{level}_roadmap",
        response_model=PublicationRead,
        status_code=status.HTTP_201_CREATED,
        summary=f"Publish the roadmap of a {label}: a dated, numbered, immutable snapshot",
        description=f"Freezes the {label}'s roadmap as the public reads it now (`getRegionRoadmap` / "
        "`getDepartementRoadmap` with `scope` `published`: the actions marked published only), at "
        "`version` (the latest when omitted) and `year` (the current one): its JSON, its CSV and XLSX "
        "exports (levers, sectors, actions) and its Frictionless data package, made once and stored: "
        "later edits of the actions never change them. Numbered 1, 2, 3… per territory; attributed and "
        f"audited (`publish`). Who: {who}, and admins (403 otherwise; 404 for a coordinator of another "
        "région). 422 for an unknown version, 404 for an unknown territory, 409 when another publication "
        "took the number at the same time (retry). Send `Idempotency-Key` to retry safely.",
        responses=problem_responses(401, 403, 404, 409, 422, 502, 503, 504),
        openapi_extra=IDEMPOTENCY_KEY,
    )

    async def list_publications(
        owner: OwnerDep, session: SessionDep, _caller: AnyCaller, page: PageDep
    ) -> Page[PublicationRead]:
        return await service.list_publications(session, owner, params=page)

    router.add_api_route(
        base,
        list_publications,
        methods=["GET"],
        name=f"list_{level}_roadmap_publications",
        response_model=Page[PublicationRead],
        summary=f"The publications of a {label}'s roadmap (public)",
        description="In the order of their numbers; each with its files and where to get them. Public "
        "(anonymous callers too), cached like the other public reads (a new publication shows within "
        "the cache life).",
        openapi_extra=PUBLIC,
        dependencies=[public_cache()],
    )

    async def get_publication(
        owner: OwnerDep, number: Number, request: Request, session: SessionDep, _caller: AnyCaller
    ) -> Response:
        read = await service.read(session, await service.get_publication(session, owner, number))
        body = read.model_dump_json().encode()
        return immutable_response(
            request, body, media_type="application/json", etag=strong_etag(body).decode()
        )

    router.add_api_route(
        f"{base}/{{number}}",
        get_publication,
        methods=["GET"],
        name=f"get_{level}_roadmap_publication",
        response_model=PublicationRead,
        summary=f"One publication of a {label}'s roadmap (public)",
        description="Its number, date, title, notes, panorama version, licence and sources, and its files "
        "with their sizes, ETags and paths." + IMMUTABLE_TEXT + " 404 when there is no such publication.",
        responses=_json("The publication"),
        openapi_extra=PUBLIC,
    )

    async def get_snapshot(
        owner: OwnerDep, number: Number, request: Request, session: SessionDep, _caller: AnyCaller
    ) -> Response:
        return _file(
            request, await service.get_file(session, owner, number, service.SNAPSHOT), attachment=False
        )

    router.add_api_route(
        f"{base}/{{number}}/snapshot",
        get_snapshot,
        methods=["GET"],
        name=f"get_{level}_roadmap_publication_snapshot",
        response_model=RoadmapRead,
        summary=f"The frozen roadmap of a {label}'s publication: the JSON as it was served (public)",
        description="The roadmap read (`RoadmapRead`) exactly as it was served when published, byte for "
        "byte; its ETag is the publication's `etag`." + IMMUTABLE_TEXT,
        responses=_json("The snapshot"),
        openapi_extra=PUBLIC,
    )

    async def export_publication(
        owner: OwnerDep,
        number: Number,
        request: Request,
        session: SessionDep,
        _caller: AnyCaller,
        resource: Annotated[
            PublicationTable,
            Query(description="The table: `levers`, `sectors`, `actions` or `budget_lines`"),
        ],
        format_: Annotated[
            TabularFormat,
            Query(alias="format", description="`csv` or `xlsx` (a `data` and a `metadata` sheet)"),
        ],
        decimal: Annotated[DecimalMark, Query(description=DECIMAL_DESCRIPTION)] = DecimalMark.comma,
    ) -> Response:
        name = service.export_name(resource, format_.value, decimal)
        return _file(request, await service.get_file(session, owner, number, name), attachment=True)

    router.add_api_route(
        f"{base}/{{number}}/export",
        export_publication,
        methods=["GET"],
        name=f"export_{level}_roadmap_publication",
        response_class=Response,
        summary=f"A table of a {label}'s publication as a CSV or XLSX file (public)",
        description="One table per file, the snapshot's figures exactly: `levers` (one row per lever), "
        "`sectors` (one row per sector and a `total` row), `actions` (one row per action and lever; the "
        "levers' figures are their sums by status); and `budget_lines`, one row per action and budget line "
        "(year, financer, amount in euros, `planifie` or `acquis`) of the actions it counts, as they were "
        "when published. The CSV is UTF-8 with BOM, `;`, `#` metadata lines "
        "first (title, sources, panorama version, Licence Ouverte 2.0, publication, date), units in the "
        "headers; the XLSX has a `data` and a `metadata` sheet." + IMMUTABLE_TEXT,
        responses=_binary([CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE], "The file"),
        openapi_extra=PUBLIC,
    )

    async def get_datapackage(
        owner: OwnerDep, number: Number, request: Request, session: SessionDep, _caller: AnyCaller
    ) -> Response:
        return _file(request, await service.get_file(session, owner, number, DESCRIPTOR), attachment=False)

    router.add_api_route(
        f"{base}/{{number}}/{DESCRIPTOR}",
        get_datapackage,
        methods=["GET"],
        name=f"get_{level}_roadmap_publication_datapackage",
        response_class=Response,
        summary=f"The Frictionless data package of a {label}'s publication (public)",
        description="`datapackage.json` (Frictionless Data Package, `tabular-data-package`): licence "
        "`etalab-2.0`, sources, and per CSV file (`files/levers.csv`, `files/sectors.csv`, "
        "`files/actions.csv`, `files/budget_lines.csv`, relative to this URL) its Table Schema (fields "
        "with types, French titles, descriptions and units, primary key), size and SHA-256. The CSV "
        "files are plain data: UTF-8, `,`, decimal point, a header of field names." + IMMUTABLE_TEXT,
        responses={
            200: {
                "description": "The descriptor",
                "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
                "headers": IMMUTABLE_HEADERS,
            },
            304: NOT_MODIFIED,
            **problem_responses(404),
        },
        openapi_extra=PUBLIC,
    )

    async def download_package(
        owner: OwnerDep, number: Number, request: Request, session: SessionDep, _caller: AnyCaller
    ) -> Response:
        return _file(
            request, await service.get_file(session, owner, number, service.PACKAGE_ZIP), attachment=True
        )

    router.add_api_route(
        f"{base}/{{number}}/{service.PACKAGE_ZIP}",
        download_package,
        methods=["GET"],
        name=f"download_{level}_roadmap_publication_package",
        response_class=Response,
        summary=f"The data package of a {label}'s publication as one zip (public)",
        description="`datapackage.json` and its CSV files (`files/…`), ready to be put on an open-data "
        "portal (data.gouv.fr) as it is." + IMMUTABLE_TEXT,
        responses=_binary(["application/zip"], "The zip"),
        openapi_extra=PUBLIC,
    )

    async def get_data_file(
        owner: OwnerDep,
        number: Number,
        file: Annotated[DataFile, Path(description="The CSV file of the package")],
        request: Request,
        session: SessionDep,
        _caller: AnyCaller,
    ) -> Response:
        name = f"files/{file.value}"
        return _file(request, await service.get_file(session, owner, number, name), attachment=True)

    router.add_api_route(
        f"{base}/{{number}}/files/{{file}}",
        get_data_file,
        methods=["GET"],
        name=f"get_{level}_roadmap_publication_file",
        response_class=Response,
        summary=f"A CSV file of the data package of a {label}'s publication (public)",
        description="A `resources[].path` of `datapackage.json`, relative to it: plain CSV (UTF-8, `,`, "
        "decimal point, a header of field names), as its Table Schema describes." + IMMUTABLE_TEXT,
        responses=_binary([CSV_MEDIA_TYPE], "The CSV file"),
        openapi_extra=PUBLIC,
    )


_routes("region", "région", "/regions/{code}", region_owner)
_routes("departement", "département", "/regions/{code}/departements/{departement}", departement_owner)
