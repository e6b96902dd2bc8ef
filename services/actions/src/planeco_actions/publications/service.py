"""Publishing a roadmap: a dated, numbered (1, 2, 3… per territory), immutable snapshot of the roadmap
read of a région or a département, as the public reads it at that moment (`scope` `published`: the
actions marked published, never the others), with every file made from it at once and stored.

Why stored files, not files rebuilt on each read: an XLSX (a zip) carries its entries' times and a
library upgrade may change a byte; stored, a publication's snapshot, CSV, XLSX and data package are the
same bytes forever (strong ETags from those bytes, `Cache-Control: immutable`), whatever happens to the
actions, the panoramas or the code after. Later edits of the actions change the live roadmap only.

Who publishes: the owner's coordinators (a région's its région's and its départements' roadmaps; a
département's its own) and admins (`ensure_may_manage`); a coordinator of another région gets a 404, as
for anything outside its territory. The publication is audited (`publish`, with its number, version and
snapshot ETag). Numbers come from the owner's last one: two publications at once on PostgreSQL meet the
unique (owner, number) and the later one is a 409 to retry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.db import AuditEntry
from planeco_actions.publications.models import Publication, PublicationFile
from planeco_actions.publications.repository import ENTITY, PublicationRepository
from planeco_actions.publications.schemas import (
    PublicationCreate,
    PublicationFileRead,
    PublicationRead,
    PublicationTable,
)
from planeco_actions.roadmaps import exports
from planeco_actions.roadmaps import service as roadmaps
from planeco_actions.roadmaps.repository import BudgetAction, RoadmapRepository
from planeco_actions.roadmaps.schemas import RoadmapRead
from planeco_shared import audit
from planeco_shared.caching import strong_etag
from planeco_shared.clients.levers import LeversClient
from planeco_shared.datapackage import DESCRIPTOR, ETALAB_2
from planeco_shared.identity import ANONYMOUS, Principal
from planeco_shared.models import utcnow
from planeco_shared.owners import OwnerLevel, ResolvedOwner, ensure_may_manage
from planeco_shared.pagination import Page, PageParams, paginate_into
from planeco_shared.problems import Conflict, NotFound
from planeco_shared.tabular import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, DecimalMark, to_csv, to_xlsx

FIELDS = ["owner_level", "owner_code", "owner_region", "number", "title", "notes", "version", "year", "etag"]
SNAPSHOT = "roadmap.json"
PACKAGE_ZIP = "datapackage.zip"
JSON_MEDIA_TYPE = "application/json"
ZIP_MEDIA_TYPE = "application/zip"
EXPORT_CSV_MEDIA_TYPE = CSV_MEDIA_TYPE + "; charset=utf-8; header=present"
LICENCE = f"{ETALAB_2['title']} ({ETALAB_2['name']})"


@dataclass(frozen=True, slots=True)
class StoredFile:
    name: str
    media_type: str
    content: bytes
    etag: str
    filename: str  # for Content-Disposition


def base_path(owner: ResolvedOwner) -> str:
    if owner.level is OwnerLevel.departement:
        return f"/api/v1/roadmaps/regions/{owner.region}/departements/{owner.code}/publications"
    return f"/api/v1/roadmaps/regions/{owner.code}/publications"


def export_name(resource: PublicationTable, fmt: str, decimal: DecimalMark = DecimalMark.comma) -> str:
    if fmt == "xlsx":
        return f"{resource.value}.xlsx"
    return f"{resource.value}.csv" if decimal is DecimalMark.comma else f"{resource.value}.point.csv"


def data_name(resource: PublicationTable) -> str:
    return f"files/{resource.value}.csv"


def _stem(owner: ResolvedOwner, number: int) -> str:
    return f"planeco-feuille-de-route-{owner.level.value}-{owner.code}-publication-{number}".lower()


def _file_order(owner: ResolvedOwner, number: int) -> list[tuple[str, str]]:
    """(stored name, path to get it) of every file of a publication, in the order the read lists them."""
    base = f"{base_path(owner)}/{number}"
    out = [(SNAPSHOT, f"{base}/snapshot")]
    for resource in PublicationTable:
        export = f"{base}/export?resource={resource.value}"
        out += [
            (export_name(resource, "csv"), f"{export}&format=csv"),
            (export_name(resource, "csv", DecimalMark.point), f"{export}&format=csv&decimal=point"),
            (export_name(resource, "xlsx"), f"{export}&format=xlsx"),
        ]
    out += [(DESCRIPTOR, f"{base}/{DESCRIPTOR}"), (PACKAGE_ZIP, f"{base}/{PACKAGE_ZIP}")]
    out += [(data_name(resource), f"{base}/{data_name(resource)}") for resource in PublicationTable]
    return out


def _sources(view_version: str, where: str) -> list[str]:
    return [
        exports.SGPE_SOURCE.format(version=view_version),
        exports.ACTIONS_SOURCE.format(territory=where),
    ]


async def _roadmap(
    session: AsyncSession, owner: ResolvedOwner, data: PublicationCreate, *, levers: LeversClient
) -> RoadmapRead:
    """The roadmap as the public reads it now (published actions only)."""
    arguments = {
        "version": data.version or "latest",
        "year": data.year or utcnow().year,
        "principal": ANONYMOUS,
        "regions": frozenset[str](),
        "levers": levers,
    }
    assert owner.code is not None and owner.region is not None
    if owner.level is OwnerLevel.departement:
        return await roadmaps.departement_roadmap(session, owner.region, owner.code, **arguments)  # type: ignore[arg-type]
    return await roadmaps.region_roadmap(session, owner.code, **arguments)  # type: ignore[arg-type]


async def _budget(session: AsyncSession, owner: ResolvedOwner) -> list[BudgetAction]:
    """The budget lines of the actions the public roadmap counts (those of the financing view)."""
    assert owner.code is not None and owner.region is not None
    departement = owner.code if owner.level is OwnerLevel.departement else None
    return await RoadmapRepository(session).budget_actions(
        owner.region, published_only=True, departement=departement
    )


def _files(
    owner: ResolvedOwner,
    view: RoadmapRead,
    budget: list[BudgetAction],
    snapshot: bytes,
    *,
    number: int,
    title: str,
    at: dt.datetime,
) -> list[PublicationFile]:
    base = f"{base_path(owner)}/{number}"
    extra = [("publication", f"{number} ({title})"), ("published_at", at.isoformat().replace("+00:00", "Z"))]
    tables = exports.tables(view, budget, generated_at=at, extra=[*extra, ("json_view", f"{base}/snapshot")])
    contents: dict[str, tuple[str, bytes]] = {SNAPSHOT: (JSON_MEDIA_TYPE, snapshot)}
    for resource in PublicationTable:
        table = tables[resource.value]
        contents[export_name(resource, "csv")] = (EXPORT_CSV_MEDIA_TYPE, to_csv(table))
        contents[export_name(resource, "csv", DecimalMark.point)] = (
            EXPORT_CSV_MEDIA_TYPE,
            to_csv(table, decimal_mark=DecimalMark.point),
        )
        contents[export_name(resource, "xlsx")] = (XLSX_MEDIA_TYPE, to_xlsx(table))
    package = exports.package(
        view,
        tables,
        name=_stem(owner, number),
        number=number,
        title=title,
        description=f"Publication {number} de la feuille de route de la COP, {exports.territory(view)}, "
        f"publiée le {at.date().isoformat()} : objectifs du panorama SGPE {view.version}, impact des "
        "actions publiées par statut, reste à faire, par levier, par secteur et par action ; lignes "
        "budgétaires des actions.",
        published_at=at,
        snapshot_url=f"{base}/snapshot",
    )
    contents[DESCRIPTOR] = (JSON_MEDIA_TYPE, package.descriptor_bytes)
    contents[PACKAGE_ZIP] = (ZIP_MEDIA_TYPE, package.zip())
    for path, content in package.files.items():
        contents[path] = (CSV_MEDIA_TYPE + "; charset=utf-8; header=present", content)
    return [
        PublicationFile(name=name, media_type=media, content=content, etag=strong_etag(content).decode())
        for name, (media, content) in contents.items()
    ]


async def publish(
    session: AsyncSession,
    owner: ResolvedOwner,
    data: PublicationCreate,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
    levers: LeversClient,
) -> Publication:
    if regions is not None and owner.region not in regions:
        raise NotFound(f"No roadmap of {owner.level.value} {owner.code} among yours")
    ensure_may_manage(principal, owner)
    view = await _roadmap(session, owner, data, levers=levers)
    repository = PublicationRepository(session)
    number = await repository.last_number(owner) + 1
    at = utcnow().replace(microsecond=0)
    where = exports.territory(view)
    title = data.title or f"Feuille de route — {where} — publication {number}"
    # Rendered as FastAPI renders the live read: the snapshot is the JSON the public was served.
    snapshot = bytes(JSONResponse(view.model_dump(mode="json")).body)
    publication = Publication(
        owner_level=owner.level,
        owner_code=owner.code,
        owner_region=owner.region,
        number=number,
        title=title,
        notes=data.notes,
        version=view.version,
        year=view.year,
        published_at=at,
        published_by=principal.subject,
        etag=strong_etag(snapshot).decode(),
    )
    files = _files(owner, view, await _budget(session, owner), snapshot, number=number, title=title, at=at)
    try:
        async with session.begin_nested():
            await repository.add(publication, files)
    except IntegrityError:
        raise Conflict(
            f"Publication {number} of {where} was made by another request at the same time: retry",
            code="publication-number-taken",
        ) from None
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action="publish",
        entity_type=ENTITY,
        entity_id=str(publication.id),
        changes=audit.snapshot(publication, FIELDS)
        | {
            "sha256": hashlib.sha256(snapshot).hexdigest(),
            "actions": sum(len(x.actions) for x in view.levers),
        },
    )
    return publication


async def read(session: AsyncSession, publication: Publication) -> PublicationRead:
    owner = publication.owner
    api = owner.api
    assert api is not None and owner.region is not None
    sizes = {
        name: (media, size, tag)
        for name, media, size, tag in await PublicationRepository(session).files(publication)
    }
    where = f"département {owner.code}" if owner.level is OwnerLevel.departement else f"région {owner.code}"
    return PublicationRead(
        owner=api,
        region=owner.region,
        departement=owner.code if owner.level is OwnerLevel.departement else None,
        number=publication.number,
        title=publication.title,
        notes=publication.notes,
        version=publication.version,
        year=publication.year,
        published_at=publication.published_at,
        etag=publication.etag,
        licence=LICENCE,
        sources=_sources(publication.version, where),
        files=[
            PublicationFileRead(
                name=name, path=path, media_type=sizes[name][0], bytes=sizes[name][1], etag=sizes[name][2]
            )
            for name, path in _file_order(owner, publication.number)
            if name in sizes
        ],
    )


async def list_publications(
    session: AsyncSession, owner: ResolvedOwner, *, params: PageParams
) -> Page[PublicationRead]:
    page = await paginate_into(
        session, PublicationRepository(session).list_statement(owner), params, lambda x: x
    )
    return Page.of([await read(session, item) for item in page.items], page.total, params)


async def get_publication(session: AsyncSession, owner: ResolvedOwner, number: int) -> Publication:
    found = await PublicationRepository(session).get(owner, number)
    if found is None:
        raise NotFound(f"No publication {number} of the roadmap of {owner.level.value} {owner.code}")
    return found


async def get_file(session: AsyncSession, owner: ResolvedOwner, number: int, name: str) -> StoredFile:
    publication = await get_publication(session, owner, number)
    found = await PublicationRepository(session).file(publication, name)
    if found is None:  # every publication has all its files; a name outside them is a 404
        raise NotFound(f"Publication {number} has no file {name}")
    filename = f"{_stem(owner, number)}-{name.replace('/', '-')}"
    return StoredFile(found.name, found.media_type, found.content, found.etag, filename)
