"""Archive (soft delete) instead of DELETE FROM: a COP's actions and templates are part of an audited
roadmap, so `DELETE` on them sets `archived_at` (audited as `archive`), hides them from reads and lists
(404, as if deleted), and keeps them restorable (`POST …/restore`, audited as `restore`). Managers see them
with `?include_archived=true`; the history stays readable, so the archive itself can be found.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy import ColumnElement, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from planeco_shared import audit
from planeco_shared.identity import Authenticated, Principal, Role
from planeco_shared.models import ArchivableMixin, AuditEntryMixin, utcnow
from planeco_shared.problems import Conflict, Forbidden

MANAGERS = frozenset({Role.admin, Role.coordinator})


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
