"""Audit history reads: one read shape and one query for every module's history endpoint.

A module's repository selects the entries (`history_statement`), its service pages them into the read shape
(`history_page`); the router returns `Page[HistoryEntry]`. Every history is newest first, so that page 1 shows
the latest changes; `id` breaks ties between entries written at the same instant.

Values (`old`, `new`) are the JSON values the audit trail stored, unchanged: decimals, dates and enums are the
strings `planeco_shared.audit.snapshot` (or the module) wrote, lists, objects, booleans and numbers stay what
they are, null is no value. Nothing is re-rendered on read, so an entry reads the same whatever the code that
wrote it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_shared.models import AuditEntryMixin
from planeco_shared.pagination import Page, PageParams, paginate

CHANGE_KEYS = frozenset({"old", "new"})


class FieldChange(BaseModel):
    field: str = Field(description="The field that changed (the endpoint's description lists them)")
    old: Any = Field(
        description="The value before, as stored: any JSON value (decimals and dates are strings); null: none"
    )
    new: Any = Field(description="The value after, same form; null: none (cleared or deleted)")


class HistoryEntry(BaseModel):
    occurred_at: dt.datetime
    actor: str = Field(description="Subject of who made the change (an agent or an API key)")
    actor_role: str = Field(description="The actor's role at the time")
    action: str = Field(
        description="What was done: create, update, delete, or the module's own (import, replace)"
    )
    changes: list[FieldChange] = Field(description="Every field that changed, old → new")
    request_id: str | None = Field(description="X-Request-ID of the request that made the change")


def history_statement(
    entry_model: type[AuditEntryMixin], entity_type: str, entity_ids: str | Collection[str]
) -> Select[Any]:
    """The audit entries of one entity (or of several, e.g. an entity and its parts), newest first."""
    ids = [entity_ids] if isinstance(entity_ids, str) else list(entity_ids)
    return (
        select(entry_model)
        .where(entry_model.entity_type == entity_type, entry_model.entity_id.in_(ids))
        .order_by(entry_model.occurred_at.desc(), entry_model.id.desc())
    )


def field_changes(changes: Any, field_order: Sequence[str] = ()) -> list[FieldChange]:
    """The stored `changes` as a list: the fields of `field_order` first, in that order, then the others
    alphabetically.

    Updates store `{"field": {"old": …, "new": …}}` (`planeco_shared.audit.diff`); creations may store a plain
    snapshot `{"field": value}`, read as null → value, where a null value is no change and left out.
    """
    if not isinstance(changes, dict):
        return []  # a row written by hand or by older code: no readable changes rather than a 500
    position = {name: index for index, name in enumerate(field_order)}
    out: list[FieldChange] = []
    for name in sorted(changes, key=lambda name: (position.get(name, len(position)), name)):
        value = changes[name]
        if isinstance(value, dict) and value.keys() == CHANGE_KEYS:
            out.append(FieldChange(field=name, old=value["old"], new=value["new"]))
        elif value is not None:
            out.append(FieldChange(field=name, old=None, new=value))
    return out


def history_entry(entry: AuditEntryMixin, field_order: Sequence[str] = ()) -> HistoryEntry:
    return HistoryEntry(
        occurred_at=entry.occurred_at,
        actor=entry.actor,
        actor_role=entry.actor_role,
        action=entry.action,
        changes=field_changes(entry.changes, field_order),
        request_id=entry.request_id,
    )


async def history_page(
    session: AsyncSession, statement: Select[Any], params: PageParams, *, field_order: Sequence[str] = ()
) -> Page[HistoryEntry]:
    """One page of `statement` (from `history_statement`) in the read shape."""
    rows, total = await paginate(session, statement, params)
    return Page.of([history_entry(row, field_order) for row in rows], total, params)
