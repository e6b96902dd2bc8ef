"""Idempotent POST creates: the IETF httpapi draft "The Idempotency-Key HTTP Header Field".

A client that may retry a create sends `Idempotency-Key` (1-255 printable ASCII characters, opaque to us).
The first request with a key runs the create, and its response (status, `Location`, `ETag`, body) is
stored in the same transaction, so a create that fails stores nothing and may be retried with the same key.
A retry with the same key and the same request (SHA-256 of method, path and body) gets the stored
response again, with `Idempotent-Replayed: true`, and creates nothing; the same key with another request
is a 422 (`idempotency-key-reused`). Keys are the caller's own (unique on subject and key) and live 24 h:
an expired key is ignored and overwritten, and the daily job `purge-idempotency-keys` of each service that
maps the table (`purge_idempotency_keys_job`) deletes the expired rows (`expires_at` is indexed for it).

Two first requests with one key at once: on PostgreSQL the second one's INSERT waits on the unique index
and fails once the first commits, a 409 (`idempotency-key-in-use`): retry it and it replays. On SQLite
writes queue one at a time (`planeco_shared.database`), so the second sees the first's row and replays.

A service maps the mixin (`IdempotencyKey(IdempotencyKeyMixin, Base)`, table `idempotency_keys`); a
POST create declares `openapi_extra=IDEMPOTENCY_KEY` and answers through `idempotent_create`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Integer, String, Text, UniqueConstraint, Uuid, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from planeco_shared.dataversion import UNVERSIONED
from planeco_shared.jobs.registry import Job, JobContext
from planeco_shared.models import PortableJSON, UTCDateTime, utcnow
from planeco_shared.problems import BadRequest, Conflict, FieldError, UnprocessableEntity

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
LIFETIME = dt.timedelta(hours=24)
MAX_LENGTH = 255
# After the server has trimmed the field's surrounding whitespace (RFC 9110 §5.5).
_KEY = re.compile(rf"[\x20-\x7e]{{1,{MAX_LENGTH}}}")


class IdempotencyKeyMixin:
    """One stored response per (caller, key). Each service maps it to its own `idempotency_keys` table."""

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:  # noqa: N805 (a class-level directive: SQLAlchemy passes the class)
        # The key is the caller's: another caller's identical key is another row.
        # Bookkeeping, not data: storing a response leaves the data version alone (the create bumps it).
        return (UniqueConstraint("subject", "key"), {"info": {UNVERSIONED: True}})

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    subject: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(MAX_LENGTH))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    headers: Mapped[dict[str, str]] = mapped_column(PortableJSON, default=dict)
    body: Mapped[str] = mapped_column(Text())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


IDEMPOTENCY_KEY: dict[str, Any] = {
    "parameters": [
        {
            "name": HEADER,
            "in": "header",
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_LENGTH, "pattern": "^[ -~]+$"},
            "description": "A unique key of yours (1-255 printable ASCII characters) to retry this create "
            "safely for 24 h: the same request again gets the first response back (with "
            "`Idempotent-Replayed: true`) and creates nothing; the same key with another request is a 422 "
            "(`idempotency-key-reused`), while the first is still running a 409 (`idempotency-key-in-use`).",
        }
    ]
}
"""`openapi_extra` of a POST create that answers through `idempotent_create`."""


def idempotency_key(request: Request) -> str | None:
    """The request's `Idempotency-Key`, None without one; a 400 problem naming the header if invalid."""
    values = request.headers.getlist(HEADER)
    if not values:
        return None
    if len(values) == 1 and _KEY.fullmatch(values[0]):
        return values[0]
    msg = f"must be one value of 1 to {MAX_LENGTH} printable ASCII characters"
    raise BadRequest(
        f"{HEADER} {msg}",
        errors=[FieldError(loc=["header", HEADER], msg=msg, type="value_error")],
    )


def request_hash(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256(f"{method.upper()} {path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


@dataclass
class IdempotentCreate:
    """A create in progress: `replay` is the stored response when this is a retry; otherwise run the
    create, then answer with `respond` (which stores the response when the request had a key)."""

    session: AsyncSession
    model: type[IdempotencyKeyMixin]
    subject: str
    key: str | None
    request_hash: str
    replay: Response | None = None

    async def respond(self, content: BaseModel, *, status_code: int, headers: dict[str, str]) -> Response:
        # Rendered once as FastAPI would, so that the first answer and its replays are the same bytes.
        body = bytes(JSONResponse(content.model_dump(mode="json")).body)
        response = Response(body, status_code=status_code, headers=headers, media_type="application/json")
        if self.key is None:
            return response
        now = utcnow()
        values: dict[str, Any] = {
            "subject": self.subject,
            "key": self.key,
            "request_hash": self.request_hash,
            "status_code": status_code,
            "headers": headers,
            "body": body.decode(),
            "created_at": now,
            "expires_at": now + LIFETIME,
        }
        self.session.add(self.model(**values))  # the service's mapped class takes its columns
        try:
            await self.session.flush()
        except IntegrityError:
            # PostgreSQL: a concurrent first request with this key committed while this one ran; this
            # transaction (its create included) is rolled back.
            raise Conflict(
                f"A request with this {HEADER} was being processed; retry it to get its response",
                code="idempotency-key-in-use",
            ) from None
        return response


async def idempotent_create(
    session: AsyncSession, model: type[IdempotencyKeyMixin], request: Request, *, subject: str
) -> IdempotentCreate:
    """Start an idempotent create for the caller `subject` (call it after authorization)."""
    key = idempotency_key(request)
    fingerprint = request_hash(request.method, request.url.path, await request.body())
    create = IdempotentCreate(session, model, subject, key, fingerprint)
    if key is None:
        return create
    stored = await session.scalar(select(model).where(model.subject == subject, model.key == key))
    if stored is None:
        return create
    if stored.expires_at <= utcnow():
        # Expired: forgotten, the key is free again.
        await session.execute(delete(model).where(model.id == stored.id))
        return create
    if stored.request_hash != fingerprint:
        raise UnprocessableEntity(
            f"This {HEADER} was already used for another request; use a new key for a new request",
            code="idempotency-key-reused",
            errors=[
                FieldError(loc=["header", HEADER], msg="already used for another request", type="value_error")
            ],
        )
    create.replay = Response(
        stored.body.encode(),
        status_code=stored.status_code,
        headers=stored.headers | {REPLAYED: "true"},
        media_type="application/json",
    )
    return create


PURGE_JOB = "purge-idempotency-keys"
# Daily, at a quiet hour (UTC); PLANECO_<SVC>_JOB_SCHEDULES='{"purge-idempotency-keys": "…"}' overrides it.
PURGE_SCHEDULE = "20 3 * * *"


async def purge_expired_keys(
    session: AsyncSession, model: type[IdempotencyKeyMixin], *, now: dt.datetime | None = None
) -> int:
    """Delete the stored responses whose key expired at `now` (default: the current time); their number."""
    result = await session.execute(delete(model).where(model.expires_at <= (now or utcnow())))
    return int(getattr(result, "rowcount", 0) or 0)


def purge_idempotency_keys_job(model: type[IdempotencyKeyMixin], *, schedule: str = PURGE_SCHEDULE) -> Job:
    """The service's daily clean-up of expired idempotency keys (list it in the service's `jobs.py`)."""

    async def purge(context: JobContext) -> Mapping[str, int]:
        async with context.transaction() as session:
            removed = await purge_expired_keys(session, model)
        return {"removed": removed}

    return Job(
        PURGE_JOB,
        f"Delete the stored responses of expired {HEADER}s (kept {int(LIFETIME.total_seconds()) // 3600} h)",
        purge,
        schedule=schedule,
    )
