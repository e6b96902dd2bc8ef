from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from planeco_diagnostic.db import Base
from planeco_diagnostic.responses.schemas import Need
from planeco_shared.models import UTCDateTime

# A need's bit in `AnswerRow.needs`.
NEED_BITS: dict[Need, int] = {need: 1 << n for n, need in enumerate(Need)}


class AnswerRow(Base):
    """One action item's answer of a response, once per lever of the item (its own levers, else its
    section's): what the synthesis counts with GROUP BYs over this one table. Kept in step with
    `Response.answers` by `planeco_diagnostic.responses.service._save` in the same transaction (the
    response's rows are deleted and inserted again), and with the response's status by its submission and
    reopening. The respondent's type and département are copied from its invitee (frozen with the
    campaign's invitee list), so that the synthesis joins nothing: its plan cannot turn into nested loops
    when the planner has no statistics yet, as after a bulk ingestion."""

    __tablename__ = "response_answers"
    __table_args__ = (
        Index("ix_response_answers_campaign_counted", "campaign_id", "submitted", "lever_rank"),
    )

    invitee_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("responses.invitee_id"), primary_key=True)
    item_key: Mapped[str] = mapped_column(String(60), primary_key=True)
    lever_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("campaigns.id"))
    # 0: the item's first lever (the one its quantity is in); per-item counts read rank 0 only.
    lever_rank: Mapped[int] = mapped_column(Integer)
    pertinence: Mapped[str | None] = mapped_column(String(20))
    mobilisation: Mapped[str | None] = mapped_column(String(20))
    # The needs expressed, one bit each (NEED_BITS).
    needs: Mapped[int] = mapped_column(Integer, default=0)
    # The quantity in the lever's unit (`lever_quantity`: exact, plain decimal string), on rank 0 only.
    quantity: Mapped[str | None] = mapped_column(String(80))
    respondent_type: Mapped[str] = mapped_column(String(20))
    departement: Mapped[str | None] = mapped_column(String(3))
    # The response is submitted (what the synthesis counts); drafts are kept but never counted.
    submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    # True on one row per respondent and lever (its first item of the lever): the respondents of a lever
    # are then a COUNT of these rows, not a COUNT(DISTINCT) that sorts every answer.
    lever_first: Mapped[bool] = mapped_column(Boolean, default=False)


class SynthesisPublication(Base):
    """A campaign's synthesis made a public read (open data), by whom and when."""

    __tablename__ = "synthesis_publications"

    campaign_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("campaigns.id"), primary_key=True)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    published_by: Mapped[str] = mapped_column(String(200))
