"""All SQL of the syntheses module: the answers in rows, and the GROUP BYs the synthesis reads."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import case, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.campaigns.models import Invitee
from planeco_diagnostic.questionnaires.document import ActionItem, QuestionnaireDocument
from planeco_diagnostic.responses.models import Response, ResponseStatus
from planeco_diagnostic.responses.schemas import Need
from planeco_diagnostic.syntheses.models import NEED_BITS, AnswerRow, SynthesisPublication

# The public form leaves out the answers of a cell (item × respondent type × département) of fewer.
MINIMUM_RESPONDENTS = 3
# (item, respondent type, département, pertinence, mobilisation, answers, answers naming each need in
# NEED_BITS order): one row of the finest grain the synthesis counts at.
ItemCount = tuple[str, str, str | None, str | None, str | None, int, tuple[int, ...]]
AGGREGATES_WORK_MEM = "64MB"  # per sort or hash of one synthesis query (a constant, never input)


def item_levers(document: QuestionnaireDocument) -> dict[str, list[str]]:
    """Action item key → its levers (its own, else its section's), in order: the first is its quantity's."""
    return {
        item.key: list(item.lever_ids or section.lever_ids)
        for section in document.sections
        for item in section.items
        if isinstance(item, ActionItem)
    }


def answer_rows(
    document: QuestionnaireDocument, invitee: Invitee, response: Response
) -> list[dict[str, Any]]:
    """The rows of a response's action answers: one per answer × lever of its item."""
    levers = item_levers(document)
    submitted = response.status is ResponseStatus.submitted
    rows: list[dict[str, Any]] = []
    counted_levers: set[str] = set()
    for key, answer in response.answers.items():
        if key not in levers or not isinstance(answer, dict):
            continue
        needs = sum(NEED_BITS[Need(n)] for n in answer.get("needs", []))
        for rank, lever_id in enumerate(levers[key]):
            rows.append(
                {
                    "invitee_id": response.invitee_id,
                    "item_key": key,
                    "lever_id": lever_id,
                    "campaign_id": response.campaign_id,
                    "lever_rank": rank,
                    "pertinence": answer.get("pertinence"),
                    "mobilisation": answer.get("mobilisation"),
                    "needs": needs,
                    "quantity": answer.get("lever_quantity") if rank == 0 else None,
                    "respondent_type": invitee.type.value,
                    "departement": invitee.departement,
                    "submitted": submitted,
                    "lever_first": lever_id not in counted_levers,
                }
            )
            counted_levers.add(lever_id)
    return rows


class AnswerRowRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def replace(self, response: Response, rows: list[dict[str, Any]]) -> None:
        """The response's rows, all of them replaced (delete + insert), in the caller's transaction."""
        await self.session.execute(delete(AnswerRow).where(AnswerRow.invitee_id == response.invitee_id))
        if rows:  # one multi-row INSERT, not one statement per row (executemany)
            await self.session.execute(insert(AnswerRow).values(rows))

    async def mark_submitted(self, invitee_id: uuid.UUID, submitted: bool) -> None:
        """The response's rows follow its status (submission, reopening), in the caller's transaction."""
        await self.session.execute(
            update(AnswerRow).where(AnswerRow.invitee_id == invitee_id).values(submitted=submitted)
        )

    # What the synthesis counts: the submitted responses only, from this one table (no join).

    def _counted(self, campaign_id: uuid.UUID, *columns: Any) -> Any:
        return select(*columns).where(AnswerRow.campaign_id == campaign_id, AnswerRow.submitted.is_(True))

    def _publishable(self, campaign_id: uuid.UUID) -> Any:
        """The counted answer rows of the public form: those whose cell (item × respondent type ×
        département) holds 3 answers or more (MINIMUM_RESPONDENTS; one rank-0 row per respondent and
        item). A window over the one table, not a join to the cells: a plan that stays one scan and a
        sort whatever the planner's statistics (a semi-join to a grouped subquery became nested loops
        over 300,000 rows on a table never analysed)."""
        cell_answers = func.sum(case((AnswerRow.lever_rank == 0, 1), else_=0)).over(
            partition_by=(AnswerRow.item_key, AnswerRow.respondent_type, AnswerRow.departement)
        )
        rows = self._counted(
            campaign_id,
            AnswerRow.invitee_id,
            AnswerRow.item_key,
            AnswerRow.lever_id,
            AnswerRow.lever_rank,
            AnswerRow.respondent_type,
            AnswerRow.departement,
            cell_answers.label("cell_answers"),
        ).subquery("answers")
        return select(rows).where(rows.c.cell_answers >= MINIMUM_RESPONDENTS).subquery("publishable")

    async def for_aggregates(self) -> None:
        """Give this transaction's sorts and hashes room (PostgreSQL): the synthesis's GROUP BYs and
        COUNT(DISTINCT)s over a campaign's answers spill to disk at the default 4 MB (300,000 answers:
        0.5 s a query on disk, 0.1 s in memory). `SET LOCAL`: for this transaction only."""
        connection = await self.session.connection()
        if connection.dialect.name == "postgresql":
            await connection.execute(text(f"SET LOCAL work_mem = '{AGGREGATES_WORK_MEM}'"))

    async def _rows(self, statement: Any) -> Sequence[Any]:
        """Plain rows from the connection: tens of thousands of aggregate rows skip the ORM's loading."""
        return (await (await self.session.connection()).execute(statement)).all()

    async def item_counts(self, campaign_id: uuid.UUID) -> list[ItemCount]:
        """Per item × respondent type × département × pertinence × mobilisation: the answers, and of them
        those naming each need. One scan, from which the synthesis sums every breakdown and every item's
        needs (a kept cell's needs in the public form)."""
        grain = (
            AnswerRow.item_key,
            AnswerRow.respondent_type,
            AnswerRow.departement,
            AnswerRow.pertinence,
            AnswerRow.mobilisation,
        )
        needs = [
            func.sum(case((AnswerRow.needs.op("&")(bit) != 0, 1), else_=0)) for bit in NEED_BITS.values()
        ]
        statement = (
            self._counted(campaign_id, *grain, func.count(), *needs)
            .where(AnswerRow.lever_rank == 0)
            .group_by(*grain)
        )
        return [
            (key, type_, departement, p, m, n, tuple(named))
            for key, type_, departement, p, m, n, *named in await self._rows(statement)
        ]

    async def lever_respondents(
        self, campaign_id: uuid.UUID, *, publishable: bool
    ) -> list[tuple[str, str, str | None, int]]:
        """(lever, type, département, respondents) : distinct respondents per lever × type × département;
        `publishable`: of the public form's answers only."""
        if publishable:
            rows = self._publishable(campaign_id)
            grain = (rows.c.lever_id, rows.c.respondent_type, rows.c.departement)
            statement = select(*grain, func.count(func.distinct(rows.c.invitee_id))).group_by(*grain)
        else:  # one `lever_first` row per respondent and lever
            grain = (AnswerRow.lever_id, AnswerRow.respondent_type, AnswerRow.departement)
            statement = (
                self._counted(campaign_id, *grain, func.count())
                .where(AnswerRow.lever_first.is_(True))
                .group_by(*grain)
            )
        return [(lever, t, d, int(n)) for lever, t, d, n in await self._rows(statement)]

    async def respondents(
        self, campaign_id: uuid.UUID, *, publishable: bool
    ) -> list[tuple[str, str | None, int]]:
        """(type, département, respondents): submitted responses with at least one action answer (one
        probe of the answers' primary key per response, not a scan of the answers); `publishable`: with
        at least one of the public form's answers."""
        if publishable:
            rows = self._publishable(campaign_id)
            grain = (rows.c.respondent_type, rows.c.departement)
            kept = (
                select(*grain, func.count(func.distinct(rows.c.invitee_id)))
                .where(rows.c.lever_rank == 0)
                .group_by(*grain)
            )
            return [(t, d, int(n)) for t, d, n in await self._rows(kept)]
        answered = (
            select(AnswerRow.invitee_id)
            .where(AnswerRow.invitee_id == Response.invitee_id, AnswerRow.lever_rank == 0)
            .exists()
        )
        statement = (
            select(Invitee.type, Invitee.departement, func.count())
            .join(Response, Response.invitee_id == Invitee.id)
            .where(Response.campaign_id == campaign_id, Response.status == ResponseStatus.submitted, answered)
            .group_by(Invitee.type, Invitee.departement)
        )
        return [(str(t), d, int(n)) for t, d, n in await self._rows(statement)]

    async def quantities(self, campaign_id: uuid.UUID) -> list[tuple[str, str | None, str, str | None, str]]:
        """(lever, mobilisation, quantity, département, respondent id) of every reported quantity."""
        statement = self._counted(
            campaign_id,
            AnswerRow.lever_id,
            AnswerRow.mobilisation,
            AnswerRow.quantity,
            AnswerRow.departement,
            AnswerRow.invitee_id,
        ).where(AnswerRow.quantity.is_not(None), AnswerRow.lever_rank == 0)
        return [(lever, m, str(q), d, str(i)) for lever, m, q, d, i in await self._rows(statement)]

    async def answers_stream(self, campaign_id: uuid.UUID) -> AsyncIterator[Any]:
        """Every answer row of a campaign (rank 0, any status) with its invitee, by invitee and item,
        streamed."""
        statement = (
            select(
                Invitee.code,
                Invitee.name,
                Invitee.type,
                Invitee.departement,
                Response.status,
                AnswerRow.item_key,
                AnswerRow.lever_id,
                AnswerRow.pertinence,
                AnswerRow.mobilisation,
                AnswerRow.needs,
                AnswerRow.quantity,
            )
            .select_from(AnswerRow)
            .join(Invitee, Invitee.id == AnswerRow.invitee_id)
            .join(Response, Response.invitee_id == AnswerRow.invitee_id)
            .where(AnswerRow.campaign_id == campaign_id, AnswerRow.lever_rank == 0)
            .order_by(Invitee.code, AnswerRow.item_key)
            .execution_options(yield_per=1000)
        )
        result = await self.session.stream(statement)
        async for row in result:
            yield row

    async def publication(self, campaign_id: uuid.UUID) -> SynthesisPublication | None:
        return await self.session.get(SynthesisPublication, campaign_id)

    async def publish(self, publication: SynthesisPublication) -> SynthesisPublication:
        self.session.add(publication)
        await self.session.flush()
        return publication
