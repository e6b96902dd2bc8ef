from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import Date, Enum, ForeignKey, Numeric, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from planeco_actions.actions.models import ActionStatus
from planeco_actions.db import Base
from planeco_shared.models import TimestampMixin


class ProgressUpdate(TimestampMixin, Base):
    """A dated progress update of an action: kept for ever (the history of its follow-up); the latest
    (by `reported_on`, then by creation) is what the roadmap uses."""

    __tablename__ = "action_progress_updates"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    action_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("actions.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(3), index=True)  # the action's, for `visible`
    reported_on: Mapped[dt.date] = mapped_column(Date, index=True)
    status: Mapped[ActionStatus] = mapped_column(Enum(ActionStatus, native_enum=False, length=20))
    percent_done: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    # The change reached so far in the main lever's physical unit (the impact's `physical`, so far).
    indicator_value: Mapped[Decimal | None] = mapped_column(Numeric(15, 3))
    indicator_unit: Mapped[str | None] = mapped_column(String(200))
    spent_eur: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200))
