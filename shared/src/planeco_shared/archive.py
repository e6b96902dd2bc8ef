"""Archive (soft delete) instead of DELETE FROM: a COP's actions and templates are part of an audited
roadmap, so `DELETE` on them sets `archived_at` (audited as `archive`), hides them from reads and lists
(404, as if deleted), and keeps them restorable (`POST …/restore`, audited as `restore`). Managers see them
with `?include_archived=true`; the history stays readable, so the archive itself can be found.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable
from typing import Annotated, Any, Protocol, TypeVar, get_args

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from sqlalchemy import ColumnElement, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from planeco_shared import audit
from planeco_shared.concurrency import IF_MATCH_REQUIRED, check_if_match, etag
from planeco_shared.database import SessionDep
from planeco_shared.identity import Authenticated, Principal, Role
from planeco_shared.models import ArchivableMixin, AuditEntryMixin, utcnow
from planeco_shared.problems import Conflict, Forbidden, problem_responses
from planeco_shared.runtime import VisibleRegions

MANAGERS = frozenset({Role.admin, Role.coordinator})
E = TypeVar("E", bound=ArchivableMixin)
E_co = TypeVar("E_co", bound=ArchivableMixin, covariant=True)
E_contra = TypeVar("E_contra", bound=ArchivableMixin, contravariant=True)


async def include_archived(
    principal: Authenticated,
    include_archived: Annotated[
        bool, Query(description="Also archived ones (coordinators and admins only: 403 otherwise)")
    ] = False,
) -> bool:
    if include_archived and principal.role not in MANAGERS:
        raise Forbidden("Only coordinators and admins see archived resources")
    return include_archived


IncludeArchived = Annotated[bool, Depends(include_archived)]


def not_archived(column: InstrumentedAttribute[Any], include: bool) -> ColumnElement[bool]:
    """A WHERE clause hiding archived rows unless `include`."""
    return true() if include else column.is_(None)


def is_hidden(entity: ArchivableMixin, include: bool) -> bool:
    return entity.archived_at is not None and not include


def set_archived(
    session: AsyncSession,
    entry_model: type[AuditEntryMixin],
    entity: ArchivableMixin,
    archived: bool,
    *,
    principal: Principal,
    entity_type: str,
    entity_id: str,
) -> None:
    """Archive (`archived`) or restore `entity`, audited as `archive` (archived_at null → when) or
    `restore` (when → null); 409 when it already is in that state."""
    if (entity.archived_at is not None) == archived:
        raise Conflict(f"The {entity_type} is {'already' if archived else 'not'} archived")
    audit.apply_update(
        session,
        entry_model,
        entity,
        {"archived_at": utcnow() if archived else None},
        principal=principal,
        entity_type=entity_type,
        entity_id=entity_id,
        action="archive" if archived else "restore",
    )


# The routes --------------------------------------------------------------------------------------------


class Versioned(Protocol):
    id: uuid.UUID
    version: int


class ToChange(Protocol[E_co]):
    """`<module>.service.<entity>_to_change`: the entity, visible (404) and the caller allowed to change
    it (403); archived ones only with `include_archived`."""

    def __call__(
        self,
        session: AsyncSession,
        entity_id: uuid.UUID,
        /,
        *,
        principal: Principal,
        regions: frozenset[str] | None,
        include_archived: bool = False,
    ) -> Awaitable[E_co]: ...


class ReadOf(Protocol[E_contra]):
    """A resource's read model, made from its entity (`ActionRead.of(action)`)."""

    @classmethod
    def of(cls, entity: E_contra, /) -> Any: ...


class SetArchived(Protocol[E]):
    """`<module>.service.set_archived`: `set_archived` above for the entity, flushed (a new revision)."""

    def __call__(
        self, session: AsyncSession, entity: E, archived: bool, /, *, principal: Principal
    ) -> Awaitable[E]: ...


def add_archive_routes(
    router: APIRouter,
    path: str,
    *,
    name: str,
    label: str,
    to_change: ToChange[E],
    set_archived: SetArchived[E],
    read_model: type[ReadOf[E]],
    manager: Any,
    archive_description: str,
    restore_description: str,
) -> None:
    """`DELETE {path}` (archive) and `POST {path}/restore` for an archivable resource, both If-Match
    required: visibility (404) and scope (403) are checked before the precondition, so that a caller who
    may not change the resource learns nothing from a 428 or 412. `path` ends with the resource's id
    parameter (`/meetings/{meeting_id}`); `name` makes the operations `archive_<name>` and
    `restore_<name>`; `label` ("a meeting") their summaries; `read_model` the restore's answer
    (`read_model.of(entity)`); `manager` is the dependency giving the
    caller allowed to write: the router's `Annotated[Principal, Depends(...)]`."""
    parameter = re.fullmatch(r".*\{(\w+)\}", path)
    if parameter is None:
        raise ValueError(f"{path!r} does not end with the resource's id parameter")
    entity_id_param = Path(alias=parameter.group(1))
    writer = get_args(manager)[1]  # the Depends(...) of Annotated[Principal, Depends(...)]
    visible = get_args(VisibleRegions)[1]

    # The writer's role first (403 without asking anything else), then the régions it sees.
    async def archive(
        request: Request,
        session: SessionDep,
        principal: Principal = writer,
        entity_id: uuid.UUID = entity_id_param,
        regions: frozenset[str] | None = visible,
    ) -> Response:
        entity = await to_change(session, entity_id, principal=principal, regions=regions)
        check_if_match(request, _etag(entity))
        await set_archived(session, entity, True, principal=principal)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    async def restore(
        request: Request,
        session: SessionDep,
        response: Response,
        principal: Principal = writer,
        entity_id: uuid.UUID = entity_id_param,
        regions: frozenset[str] | None = visible,
    ) -> Any:
        entity = await to_change(
            session, entity_id, principal=principal, regions=regions, include_archived=True
        )
        check_if_match(request, _etag(entity))
        entity = await set_archived(session, entity, False, principal=principal)
        response.headers["ETag"] = _etag(entity)
        return read_model.of(entity)

    router.add_api_route(
        path,
        archive,
        methods=["DELETE"],
        name=f"archive_{name}",
        status_code=status.HTTP_204_NO_CONTENT,
        summary=f"Archive {label} (If-Match required)",
        description=archive_description,
        responses=problem_responses(404, 409, 412, 428),
        openapi_extra=IF_MATCH_REQUIRED,
    )
    router.add_api_route(
        f"{path}/restore",
        restore,
        methods=["POST"],
        name=f"restore_{name}",
        response_model=read_model,
        summary=f"Restore an archived {label.split(' ', 1)[1]} (If-Match required)",
        description=restore_description,
        responses=problem_responses(404, 409, 412, 428),
        openapi_extra=IF_MATCH_REQUIRED,
    )


def _etag(entity: Any) -> str:
    versioned: Versioned = entity
    return etag(versioned.id, versioned.version)
