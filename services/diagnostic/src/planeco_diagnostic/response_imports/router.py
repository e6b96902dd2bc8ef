"""Bulk import of responses (see the service)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from planeco_diagnostic.invitations.router import Today
from planeco_diagnostic.response_imports import service
from planeco_diagnostic.response_imports.schemas import ResponseImportResult
from planeco_shared.database import SessionDep
from planeco_shared.identity import Principal, RequireRole, Role, require_authenticated
from planeco_shared.problems import problem_responses
from planeco_shared.runtime import VisibleRegions
from planeco_shared.sheets import SHEET_MEDIA_TYPES, sheet_request_body
from planeco_shared.uploads import media_type, read_upload

router = APIRouter(
    prefix="/campaigns",
    tags=["responses"],
    dependencies=[Depends(require_authenticated)],
    responses=problem_responses(401, 403, 404),
)

MAX_IMPORT_BYTES = 20 * 1024 * 1024
FILE_FORMAT = (
    "One row per collectivité × item. Columns (header row, names compared without case, accents or "
    "spaces): `code` (the invitee: INSEE code, SIREN for an EPCI; leading zeros a spreadsheet dropped are "
    "restored), `item` (the item key), then for an action `pertinence` (`pertinent`, `non_pertinent`, "
    "`a_discuter`), `mobilisation` (`realise`, `en_cours`, `planifie`, `envisage`, `non_engage`), `needs` "
    "(`ingenierie`, `financement`, `donnees`, `formation`, `reglementation`, `autre`, separated by `|` or "
    "`,`), `quantity` (a decimal in the item's unit; `12,5` with `;`), `comment`; for a question `value` "
    "(a text, a decimal, an option key, option keys separated by `|`). `name` is optional and ignored. CSV "
    "in UTF-8 (`;` or `,`) or XLSX (first sheet, or the one named `data`). At most 100,000 rows and 20 MiB."
)


@router.post(
    "/{campaign_id}/responses/imports",
    response_model=ResponseImportResult,
    summary="Import responses from a CSV or XLSX file",
    description="For the coordinators of the campaign's owner and admins, while the campaign is open (409 "
    "otherwise). All or nothing: every row is checked as a saved draft is (the invitee, the item, each value "
    "against the questionnaire, a (code, item) given twice, a submitted response the file would change); "
    "any error is a 422 listing each one by row and column, and nothing is saved. A row sets its item's "
    "whole answer; items the file does not name keep theirs. Idempotent: only what changes is written and "
    "audited, so the same file twice changes nothing. `submit=true` then submits the file's responses.\n\n"
    + FILE_FORMAT,
    responses=problem_responses(409, 413, 415, 422),
    openapi_extra=sheet_request_body(
        "code;item;pertinence;mobilisation;needs;quantity;comment;value\n"
        "244500468;flotte-electrique;pertinent;en_cours;financement;12;;\n"
        "244500468;q-freins;;;;;;Le coût\n"
    ),
)
async def import_campaign_responses(
    campaign_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(RequireRole(Role.coordinator))],
    regions: VisibleRegions,
    day: Today,
    submit: Annotated[
        bool, Query(description="Submit the file's responses once saved (default false: drafts)")
    ] = False,
) -> ResponseImportResult:
    content = await read_upload(
        request, media_types=SHEET_MEDIA_TYPES, max_bytes=MAX_IMPORT_BYTES, what="the CSV or XLSX file"
    )
    return await service.import_responses(
        session,
        campaign_id,
        content,
        media_type(request),
        submit=submit,
        principal=principal,
        regions=regions,
        today=day,
    )
