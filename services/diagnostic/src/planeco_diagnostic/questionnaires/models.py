from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import Enum, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from planeco_diagnostic.db import Base
from planeco_shared.models import ArchivableMixin, PortableJSON, TimestampMixin


class QuestionnaireStatus(StrEnum):
    draft = "draft"
    published = "published"
    archived = "archived"


class Questionnaire(ArchivableMixin, TimestampMixin, Base):
    """A questionnaire template: national (no région) or a région's own variant."""

    __tablename__ = "questionnaires"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    region_code: Mapped[str | None] = mapped_column(String(3), index=True)
    respondent_types: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    status: Mapped[QuestionnaireStatus] = mapped_column(
        Enum(QuestionnaireStatus, native_enum=False, length=20), default=QuestionnaireStatus.draft
    )
    created_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's declarative API)
