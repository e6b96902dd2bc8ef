"""Optimistic concurrency: ETag from a row's version, If-Match required on updates, 412 on conflict.

`If-Match` follows RFC 9110 §13.1.1: `*` or a list of entity-tags, compared **strongly**: a weak tag
(`W/"…"`) never matches, and an entity-tag is always in double quotes (`"…"`), so an unquoted value is
answered 412 with a detail saying so rather than a bare "stale". Every 412 carries the current `ETag`,
so the client can tell what it should have sent (and re-read before retrying).
"""

from __future__ import annotations

import re
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


# One element of an If-Match list: an optional weak marker, then the opaque tag in double quotes
# (RFC 9110 §8.8.3: etagc = %x21 / %x23-7E / obs-text).
_ENTITY_TAG = re.compile(r'(W/)?"[\x21\x23-\x7e\x80-\xff]*"')


def entity_tags(header: str) -> list[tuple[bool, str]] | None:
    """The (weak, tag) elements of an `If-Match` list; None when it is not a list of entity-tags."""
    tags: list[tuple[bool, str]] = []
    rest = header.strip()
    while rest:
        if rest.startswith(","):  # an empty list element (RFC 9110 §5.6.1: recipients accept them)
            rest = rest[1:].lstrip()
            continue
        match = _ENTITY_TAG.match(rest)
        if match is None:
            return None
        tags.append((match.group(1) is not None, match.group(0).removeprefix("W/")))
        rest = rest[match.end() :].lstrip()
        if rest.startswith(","):
            rest = rest[1:].lstrip()
        elif rest:
            return None
    return tags


def check_if_match(request: Request, current: str) -> None:
    """Refuse an update that does not name the version it was based on, or names a stale one.
    `current` is the resource's (strong) ETag."""
    header = request.headers.get("if-match")
    if header is None:
        raise PreconditionRequired(
            "Send If-Match with the ETag you read, to avoid overwriting someone else's change"
        )
    if header.strip() == "*":
        return
    tags = entity_tags(header)
    headers = {"ETag": current}
    if not tags:
        raise PreconditionFailed(
            'If-Match must carry the ETag exactly as it was read, in double quotes (If-Match: "…"), '
            "or *; the current ETag is in this response's ETag header",
            headers=headers,
        )
    if any(not weak and tag == current for weak, tag in tags):
        return
    if any(weak and tag == current for weak, tag in tags):
        raise PreconditionFailed(
            "A weak ETag (W/…) never matches If-Match (RFC 9110 strong comparison): send the ETag "
            "without W/, as the ETag header gives it",
            headers=headers,
        )
    raise PreconditionFailed(
        "The resource changed since you read it; read it again and reapply your change",
        headers=headers,
    )
