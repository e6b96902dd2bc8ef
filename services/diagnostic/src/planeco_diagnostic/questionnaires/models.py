from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from planeco_diagnostic.db import Base
from planeco_shared.models import ArchivableMixin, PortableJSON, TimestampMixin, UTCDateTime
from planeco_shared.owners import OwnerLevel


class QuestionnaireStatus(StrEnum):
    draft = "draft"
    published = "published"
    archived = "archived"


class Questionnaire(ArchivableMixin, TimestampMixin, Base):
    """One edition of a questionnaire template, owned by a territory (the nation, a région or a
    département). Editable while a draft; locked (immutable) once published or used by a campaign; a
    new edition is a copy in the same lineage."""

    __tablename__ = "questionnaires"
    __table_args__ = (UniqueConstraint("lineage_id", "edition", name="uq_questionnaires_lineage_edition"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    lineage_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    edition: Mapped[int] = mapped_column(Integer, default=1)
    previous_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("questionnaires.id"))
    owner_level: Mapped[OwnerLevel] = mapped_column(
        Enum(OwnerLevel, native_enum=False, length=20), default=OwnerLevel.nation, index=True
    )
    owner_code: Mapped[str | None] = mapped_column(String(3), index=True)
    # The région the owner lies in (its own code for a région): scope checks need no lookup.
    owner_region: Mapped[str | None] = mapped_column(String(3), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    respondent_types: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    sections: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON, default=list)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    # Where the content came from when a job imported it (`default-questionnaire`); null otherwise.
    source: Mapped[str | None] = mapped_column(String(60), index=True)
    status: Mapped[QuestionnaireStatus] = mapped_column(
        Enum(QuestionnaireStatus, native_enum=False, length=20), default=QuestionnaireStatus.draft
    )
    locked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's declarative API)
