"""Optimistic concurrency: ETag from a row's version, If-Match required on updates, 412 on conflict."""

from __future__ import annotations

from fastapi import Request

from planeco_shared.problems import PreconditionFailed, PreconditionRequired


def etag(entity_id: object, version: int) -> str:
    return f'"{entity_id}-v{version}"'


def check_if_match(request: Request, current: str) -> None:
    """Refuse an update that does not name the version it was based on, or names a stale one."""
    header = request.headers.get("if-match")
    if header is None:
        raise PreconditionRequired(
            "Send If-Match with the ETag you read, to avoid overwriting someone else's change"
        )
    candidates = {value.strip() for value in header.split(",")}
    if "*" in candidates or current in candidates or f"W/{current}" in candidates:
        return
    raise PreconditionFailed("The resource changed since you read it; read it again and reapply your change")
