from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from planeco_diagnostic.questionnaires.document import RespondentType
from planeco_diagnostic.questionnaires.models import Questionnaire, QuestionnaireStatus
from planeco_shared.codes import DEPARTEMENT_PATTERN
from planeco_shared.owners import Owner, OwnerLevel
from planeco_shared.patch import OMITTED, PatchBody
from planeco_shared.text import FreeText

__all__ = [
    "Owner",
    "QuestionnaireCreate",
    "QuestionnaireFilters",
    "QuestionnaireRead",
    "QuestionnaireUpdate",
    "RespondentType",
]

Title = Annotated[FreeText, StringConstraints(strip_whitespace=True, min_length=3, max_length=200)]


class QuestionnaireCreate(BaseModel):
    """An empty draft (no sections yet: `PUT …/document` fills it, or import a whole document)."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: FreeText = Field(default="", max_length=10_000, description="Optional; default empty")
    owner: Owner | None = Field(
        default=None, description="The owning région or département; omitted or null: a national template"
    )
    respondent_types: list[RespondentType] = Field(
        default_factory=lambda: list(RespondentType),
        min_length=1,
        max_length=4,
        description="Optional; default: every type (region, departement, epci, commune), each once",
    )


class QuestionnaireUpdate(PatchBody):
    """Omitted fields are kept; none of them can be cleared. A locked questionnaire takes only `status`
    (published ↔ archived); `published` locks it."""

    title: Title = OMITTED
    description: FreeText = Field(default=OMITTED, max_length=10_000)
    status: QuestionnaireStatus = OMITTED


class QuestionnaireFilters(BaseModel):
    """The list's query parameters, passed whole to the service."""

    owner_level: OwnerLevel | None = Field(
        default=None, description="Only the templates owned at this level (`nation`: national ones)"
    )
    owner_code: str | None = Field(
        default=None,
        pattern=DEPARTEMENT_PATTERN,  # a région's code has the same shape
        description="Only the templates owned by this région or département (INSEE code)",
    )
    status: QuestionnaireStatus | None = Field(default=None, description="Only templates in this status")
    lineage_id: uuid.UUID | None = Field(default=None, description="Only the editions of this lineage")


class QuestionnaireRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    lineage_id: uuid.UUID = Field(description="Shared by every edition of the questionnaire")
    edition: int = Field(
        description="1 for the first; each new edition is the previous one + 1", examples=[1]
    )
    previous_id: uuid.UUID | None = Field(
        description="The edition this one was copied from; null for the first"
    )
    owner: Owner | None = Field(description="The owning région or département; null: national")
    title: str
    description: str
    respondent_types: list[RespondentType]
    status: QuestionnaireStatus
    locked_at: dt.datetime | None = Field(
        description="When it was locked (published, or used by a campaign): immutable since; null: editable"
    )
    section_count: int = Field(examples=[12])
    item_count: int = Field(examples=[98])
    content_hash: str = Field(description="SHA-256 of the canonical document JSON (the export)")
    source: str | None = Field(
        description="The shipped content it was imported from (`default-questionnaire`); null otherwise"
    )
    created_by: str
    revision: int = Field(description="Incremented by each change; the ETag carries it")
    created_at: dt.datetime
    updated_at: dt.datetime
    archived_at: dt.datetime | None = Field(
        description="When it was archived (DELETE); null while in use. Not the `archived` status, which "
        "retires a published template that stays readable"
    )

    @classmethod
    def of(cls, questionnaire: Questionnaire) -> QuestionnaireRead:
        owner = (
            None
            if questionnaire.owner_level is OwnerLevel.nation or questionnaire.owner_code is None
            else Owner(level=questionnaire.owner_level.value, code=questionnaire.owner_code)
        )
        return cls(
            id=questionnaire.id,
            lineage_id=questionnaire.lineage_id,
            edition=questionnaire.edition,
            previous_id=questionnaire.previous_id,
            owner=owner,
            title=questionnaire.title,
            description=questionnaire.description,
            respondent_types=[RespondentType(t) for t in questionnaire.respondent_types],
            status=questionnaire.status,
            locked_at=questionnaire.locked_at,
            section_count=len(questionnaire.sections),
            item_count=sum(len(s.get("items", ())) for s in questionnaire.sections),
            content_hash=questionnaire.content_hash,
            source=questionnaire.source,
            created_by=questionnaire.created_by,
            revision=questionnaire.version,
            created_at=questionnaire.created_at,
            updated_at=questionnaire.updated_at,
            archived_at=questionnaire.archived_at,
        )
