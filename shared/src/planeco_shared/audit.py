"""Audit trail: every write records who, when, what and the changed fields (old → new)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_shared.identity import Principal
from planeco_shared.models import AuditEntryMixin
from planeco_shared.request_id import current_request_id


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Fields that changed, as {"field": {"old": …, "new": …}}."""
    return {
        key: {"old": before.get(key), "new": after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def record(
    session: AsyncSession,
    entry_model: Callable[..., AuditEntryMixin],
    *,
    principal: Principal,
    action: str,
    entity_type: str,
    entity_id: str,
    changes: dict[str, Any],
) -> None:
    session.add(
        entry_model(
            actor=principal.subject,
            actor_role=principal.role.value,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            changes=changes,
            request_id=current_request_id(),
        )
    )


def snapshot(entity: object, fields: list[str]) -> dict[str, Any]:
    """JSON-friendly values of `fields` (decimals and dates as strings, as the API shows them)."""
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(entity, name)
        if isinstance(value, dt.datetime):
            out[name] = value.isoformat().replace("+00:00", "Z")  # RFC 3339, as the API writes it
        elif value is None or isinstance(value, (str, int, float, bool, list, dict)):
            out[name] = value
        else:
            out[name] = str(value)
    return out


def apply_update(
    session: AsyncSession,
    entry_model: Callable[..., AuditEntryMixin],
    entity: object,
    changes: dict[str, Any],
    *,
    principal: Principal,
    entity_type: str,
    entity_id: str,
    action: str = "update",
) -> dict[str, Any]:
    """Set `changes` on `entity` and audit what actually changed (as `action`); returns that diff (empty if
    nothing did)."""
    fields = list(changes)
    before = snapshot(entity, fields)
    for name, value in changes.items():
        setattr(entity, name, value)
    changed = diff(before, snapshot(entity, fields))
    if changed:
        record(
            session,
            entry_model,
            principal=principal,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            changes=changed,
        )
    return changed
