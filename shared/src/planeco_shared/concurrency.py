"""Optimistic concurrency: ETag from a row's version, If-Match required on updates, 412 on conflict."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from planeco_shared.problems import PreconditionFailed, PreconditionRequired


def precondition_headers(*, if_match_required: bool, if_none_match: bool = False) -> dict[str, Any]:
    """`openapi_extra` of a conditional write: the contract shows its precondition headers, which
    `check_if_match` checks (answering 428, not 422, when a required one is missing)."""
    if if_match_required:
        if_match = "The ETag you read (or `*`): 428 without it, 412 when the resource changed since"
    else:
        if_match = "To replace an existing resource: the ETag you read (428 without it, 412 when stale)"
    parameters = [_header("If-Match", required=if_match_required, description=if_match)]
    if if_none_match:
        parameters.append(
            _header("If-None-Match", required=False, description="`*`: create only; 412 if it already exists")
        )
    return {"parameters": parameters}


def _header(name: str, *, required: bool, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": required,
        "schema": {"type": "string"},
        "description": description,
    }


IF_MATCH_REQUIRED = precondition_headers(if_match_required=True)


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
