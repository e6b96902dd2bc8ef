"""The debate of a COP (seed 002): working groups by theme, owned by a région or a département."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, Enum, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from planeco_actions.db import Base
from planeco_shared.models import ArchivableMixin, PortableJSON, TimestampMixin
from planeco_shared.owners import OwnedMixin


class WorkingGroupStatus(StrEnum):
    en_preparation = "en_preparation"  # being set up
    actif = "actif"  # meeting
    clos = "clos"  # its work is done


class ProposalStatus(StrEnum):
    ouverte = "ouverte"  # under debate
    retenue = "retenue"  # chosen
    ecartee = "ecartee"  # set aside
    promue = "promue"  # promoted to a COP action (only through its promotion)


class WorkingGroup(OwnedMixin, ArchivableMixin, TimestampMixin, Base):
    """A working group of the debate: a theme, the levers it works on, its members."""

    __tablename__ = "debate_working_groups"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(300))
    theme: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    lever_ids: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    # The same ids between bars ("|haies|augm_voitelec|"): a LIKE filter on both databases.
    lever_keys: Mapped[str] = mapped_column(Text, default="")
    members: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON, default=list)
    status: Mapped[WorkingGroupStatus] = mapped_column(
        Enum(WorkingGroupStatus, native_enum=False, length=20), default=WorkingGroupStatus.actif, index=True
    )
    created_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's declarative API)


class Meeting(ArchivableMixin, TimestampMixin, Base):
    """A meeting of a working group: when, where, its synthesis (compte rendu) and its documents."""

    __tablename__ = "debate_meetings"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("debate_working_groups.id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    place: Mapped[str] = mapped_column(String(300), default="")
    title: Mapped[str] = mapped_column(String(300), default="")
    synthesis: Mapped[str] = mapped_column(Text, default="")
    documents: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON, default=list)
    created_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's declarative API)


class Proposal(ArchivableMixin, TimestampMixin, Base):
    """A proposal of a working group (optionally from one of its meetings), tied to levers; once promoted,
    the COP action it became."""

    __tablename__ = "debate_proposals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("debate_working_groups.id"), index=True)
    meeting_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("debate_meetings.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    lever_ids: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    lever_keys: Mapped[str] = mapped_column(Text, default="")
    proposer: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON)
    status: Mapped[ProposalStatus] = mapped_column(
        Enum(ProposalStatus, native_enum=False, length=20), default=ProposalStatus.ouverte, index=True
    )
    action_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)
    created_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's declarative API)
