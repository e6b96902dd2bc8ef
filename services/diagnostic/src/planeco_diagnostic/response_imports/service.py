"""Bulk import of responses from a CSV or XLSX file (a région that collected answers elsewhere).

One row per collectivité × item: `code` (the invitee), `item` (the item key), and the answer: for an action,
`pertinence`, `mobilisation`, `needs` (separated by `|` or `,`), `quantity`, `comment`; for a question,
`value` (a text, a decimal number, an option key, option keys separated by `|` or `,`). `name` is ignored.

- **All or nothing**: every row is checked (the invitee, the item, each value against the questionnaire
  exactly as a saved draft is, a (code, item) given twice, a submitted response the file would change)
  before anything is written; any error is a 422 listing each one by row and column, and nothing is saved.
- **A row sets the item's whole answer** (an action's empty cells are empty in its answer); the items the
  file does not name keep their answers.
- **Idempotent**: the answers go through `responses.service._save`, which writes (and audits) only what
  changes; the same file twice changes nothing and records nothing the second time.
- `submit`: the responses of the file are then submitted (those already submitted stay as they are). A
  submitted response is read only: a row that would change it is an error (reopen it first).
- For the coordinators of the campaign's owner and admins, while the campaign is open (409 otherwise);
  each response's history names the importer.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.campaigns.models import Invitee
from planeco_diagnostic.invitations import service as invitations
from planeco_diagnostic.mailings.repository import MailingRepository
from planeco_diagnostic.questionnaires.document import ActionItem, MultipleChoiceItem
from planeco_diagnostic.questionnaires.service import campaign_document
from planeco_diagnostic.response_imports.repository import ResponseImportRepository
from planeco_diagnostic.response_imports.schemas import AnswerRow, ResponseImportResult
from planeco_diagnostic.responses import service as responses
from planeco_diagnostic.responses.models import ResponseStatus
from planeco_diagnostic.responses.repository import ResponseRepository
from planeco_diagnostic.responses.schemas import AnswersUpdate
from planeco_shared.identity import Principal
from planeco_shared.problems import Conflict, UnprocessableEntity
from planeco_shared.sheets import RowErrors, SheetRow, read_sheet, split_list, validate_rows

MAX_IMPORT_ROWS = 100_000
COLUMNS = [
    "code",
    "name",
    "item",
    "pertinence",
    "mobilisation",
    "needs",
    "quantity",
    "comment",
    "value",
]
REQUIRED_COLUMNS = ["code", "item"]
ACTION_COLUMNS = ("pertinence", "mobilisation", "needs", "quantity", "comment")
# Where an answer's error (loc after the item key) lies in the file.
ANSWER_FIELDS = {"pertinence", "mobilisation", "needs", "quantity", "comment"}


def _prepare(values: Mapping[str, str]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value}


def _invitee_for(code: str, invitees: Mapping[str, Invitee]) -> Invitee | None:
    """The invitee by its code; a spreadsheet that turned `01` into `1` is forgiven (zeros restored)."""
    if code in invitees:
        return invitees[code]
    if code.isdigit():
        for width in (2, 3, 5, 9):
            padded = code.zfill(width)
            if padded in invitees:
                return invitees[padded]
    return None


def _answer(row: AnswerRow, item: object) -> tuple[Any, list[tuple[str, str]]]:
    """The answer a row gives its item, and the misplaced cells (column, message)."""
    misplaced: list[tuple[str, str]] = []
    if isinstance(item, ActionItem):
        if row.value is not None:
            misplaced.append(("value", "an action takes pertinence, mobilisation, needs, quantity, comment"))
        answer: dict[str, Any] = {}
        if row.pertinence is not None:
            answer["pertinence"] = row.pertinence
        if row.mobilisation is not None:
            answer["mobilisation"] = row.mobilisation
        if row.needs is not None:
            answer["needs"] = split_list(row.needs)
        if row.quantity is not None:
            answer["quantity"] = row.quantity
        if row.comment is not None:
            answer["comment"] = row.comment
        return answer, misplaced
    for column in ACTION_COLUMNS:
        if getattr(row, column) is not None:
            misplaced.append((column, "a question's answer is in the column value"))
    if row.value is None:
        misplaced.append(("value", "the answer to a question is required"))
        return None, misplaced
    if isinstance(item, MultipleChoiceItem):
        return split_list(row.value), misplaced
    return row.value, misplaced


async def import_responses(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    content: bytes,
    media_type: str,
    *,
    submit: bool,
    principal: Principal,
    regions: frozenset[str] | None,
    today: dt.date,
) -> ResponseImportResult:
    campaign = await invitations.managed_campaign(session, campaign_id, principal=principal, regions=regions)
    if not invitations.is_open(campaign, today):
        raise Conflict(
            f"The campaign is open from {campaign.opening_date.isoformat()} to "
            f"{campaign.closing_date.isoformat()}: responses are read only outside these dates"
        )
    errors = RowErrors("the responses file", code="invalid_responses")
    rows = read_sheet(
        content,
        media_type,
        columns=COLUMNS,
        required=REQUIRED_COLUMNS,
        max_rows=MAX_IMPORT_ROWS,
        errors=errors,
        skip_metadata=True,
    )
    valid = validate_rows(rows, AnswerRow, errors, prepare=_prepare)
    document = await campaign_document(session, campaign.questionnaire_id)
    items = {item.key: item for section in document.sections for item in section.items}
    invitees = {invitee.code: invitee for invitee in await MailingRepository(session).invitees(campaign.id)}
    seen: dict[tuple[str, str], int] = {}
    by_invitee: dict[str, dict[str, Any]] = defaultdict(dict)
    rows_of: dict[str, list[tuple[SheetRow, str]]] = defaultdict(list)
    for sheet_row, row in valid:
        at: list[str | int] = ["row", sheet_row.number]
        invitee = _invitee_for(row.code, invitees)
        if invitee is None:
            errors.add([*at, "code"], f"no invitee {row.code} in this campaign", "not_found")
            continue
        item = items.get(row.item)
        if item is None:
            errors.add([*at, "item"], f"the questionnaire has no item {row.item!r}", "unknown_item")
            continue
        key = (invitee.code, row.item)
        if key in seen:
            errors.add(
                [*at, "item"], f"{invitee.code} × {row.item} is already given on row {seen[key]}", "duplicate"
            )
            continue
        seen[key] = sheet_row.number
        answer, misplaced = _answer(row, item)
        for column, message in misplaced:
            errors.add([*at, column], message, "misplaced")
        if misplaced:
            continue
        try:
            responses.validate_answers(document, invitee, {row.item: answer})
        except UnprocessableEntity as exc:
            for error in exc.errors or []:
                rest = error.loc[3:]  # after ["body", "answers", <item key>]
                if error.type in ("not_for_respondent", "unknown_item"):
                    column = "item"
                elif rest and str(rest[0]) in ANSWER_FIELDS:
                    column = str(rest[0])
                else:
                    column = "item" if isinstance(item, ActionItem) else "value"
                errors.add([*at, column], error.msg, error.type)
            continue
        by_invitee[invitee.code][row.item] = answer
        rows_of[invitee.code].append((sheet_row, row.item))
    errors.raise_if_any()

    repository = ResponseRepository(session)
    existing = await ResponseImportRepository(session).responses(campaign.id)
    plans: list[tuple[Invitee, bool, bool]] = []  # (invitee, changes answers, is new)
    for code, answers in by_invitee.items():
        invitee = invitees[code]
        clean = responses.validate_answers(document, invitee, answers)
        response = existing.get(invitee.id)
        before = response.answers if response is not None else {}
        changed = [key for key, value in clean.items() if before.get(key) != value]
        if response is not None and response.status is ResponseStatus.submitted and changed:
            for sheet_row, item_key in rows_of[code]:
                if item_key in changed:
                    errors.add(
                        ["row", sheet_row.number, "code"],
                        f"the response of {code} is submitted: a coordinator reopens it before it changes",
                        "submitted",
                    )
        plans.append((invitee, bool(changed), response is None))
    errors.raise_if_any()

    created = updated = unchanged = submitted = 0
    for invitee, changes, is_new in plans:
        if changes:
            await responses._save(
                session,
                None,
                campaign,
                invitee,
                AnswersUpdate(answers=by_invitee[invitee.code]),
                principal=principal,
            )
            if is_new:
                created += 1
            else:
                updated += 1
        else:
            unchanged += 1
        if submit:
            response = await repository.get(invitee.id)
            if response is not None and response.status is not ResponseStatus.submitted:
                await responses._submit(session, campaign, invitee, principal=principal)
                submitted += 1
    return ResponseImportResult(
        rows=len(rows),
        respondents=len(plans),
        created=created,
        updated=updated,
        unchanged=unchanged,
        submitted=submitted,
    )
