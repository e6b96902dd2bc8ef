"""The e-mail outbox's state, for those who send the mails (admins, coordinators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from planeco_diagnostic.outbox import service
from planeco_diagnostic.outbox.schemas import OutboxFilters, OutboxMessageRead
from planeco_shared.database import SessionDep
from planeco_shared.identity import Principal, RequireRole, Role, require_authenticated
from planeco_shared.pagination import Page, PageDep
from planeco_shared.problems import problem_responses

router = APIRouter(
    prefix="/outbox",
    tags=["outbox"],
    dependencies=[Depends(require_authenticated)],
    responses=problem_responses(401, 403),
)


@router.get(
    "",
    response_model=Page[OutboxMessageRead],
    summary="The e-mails queued, sent and failed",
    description="Admins read every message; a coordinator the messages about its territory (région or "
    "département), bodies included, and no other; anyone else gets 403. Newest first. A `queued` message "
    "with `attempts` > 0 was refused or could not be handed over and waits for `next_attempt_at`; "
    "`failed` says why in `last_error` (attempts exhausted, or a run interrupted after handing it over: "
    "never resent).",
)
async def list_outbox(
    session: SessionDep,
    principal: Annotated[Principal, Depends(RequireRole(Role.coordinator))],
    page: PageDep,
    filters: Annotated[OutboxFilters, Query()],
) -> Page[OutboxMessageRead]:
    return await service.list_outbox(session, filters, principal=principal, params=page)
