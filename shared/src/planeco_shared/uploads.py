"""Uploaded files sent as the request body (CSV keys and perimeters, panorama files): checked media type,
bounded size (read no further than the limit), then the bytes."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from starlette.requests import Request

from planeco_shared.problems import PayloadTooLarge, UnsupportedMediaType

CSV_MEDIA_TYPES = frozenset({"text/csv", "text/plain", "application/csv"})
JSON_MEDIA_TYPES = frozenset({"application/json"})


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_upload(request: Request, *, media_types: Collection[str], max_bytes: int, what: str) -> bytes:
    """The body, if its media type is one of `media_types` (or `+json` when JSON is accepted) and it is at
    most `max_bytes`; otherwise a 415 or 413 problem naming `what` was expected."""
    kind = media_type(request)
    if kind not in media_types and not ("application/json" in media_types and kind.endswith("+json")):
        raise UnsupportedMediaType(f"Send {what} as the body with Content-Type: {sorted(media_types)[0]}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"{what[0].upper()}{what[1:]} is at most {max_bytes} bytes")
    content = bytearray()
    async for chunk in request.stream():
        content.extend(chunk)
        if len(content) > max_bytes:
            raise PayloadTooLarge(f"{what[0].upper()}{what[1:]} is at most {max_bytes} bytes")
    return bytes(content)


def csv_request_body(example: str, *, description: str | None = None) -> dict[str, Any]:
    """`openapi_extra` of an endpoint that reads a CSV file as its body (`read_upload`): a file, as bytes,
    so that generated clients send it as is (openapi-python-client knows no text/csv bodies otherwise)."""
    body: dict[str, Any] = {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}, "example": example}},
    }
    if description is not None:
        body["description"] = description
    return {"requestBody": body}
