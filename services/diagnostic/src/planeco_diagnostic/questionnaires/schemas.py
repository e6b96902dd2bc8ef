from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from planeco_diagnostic.questionnaires.models import QuestionnaireStatus
from planeco_shared.codes import RegionCode
from planeco_shared.patch import OMITTED, PatchBody
from planeco_shared.text import FreeText


class RespondentType(StrEnum):
    region = "region"
    departement = "departement"
    epci = "epci"
    commune = "commune"


Title = Annotated[FreeText, StringConstraints(strip_whitespace=True, min_length=3, max_length=200)]


class QuestionnaireCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: FreeText = Field(default="", max_length=10_000)
    region: RegionCode | None = Field(
        default=None, description="INSEE code of the région; none for a national template"
    )
    respondent_types: list[RespondentType] = Field(default_factory=lambda: list(RespondentType), min_length=1)


class QuestionnaireUpdate(PatchBody):
    """Omitted fields are kept; none of them can be cleared."""

    title: Title = OMITTED
    description: FreeText = Field(default=OMITTED, max_length=10_000)
    respondent_types: list[RespondentType] = Field(default=OMITTED, min_length=1)
    status: QuestionnaireStatus = OMITTED


class QuestionnaireRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str
    region: str | None = Field(validation_alias="region_code")
    respondent_types: list[RespondentType]
    status: QuestionnaireStatus
    created_by: str
    revision: int = Field(
        validation_alias="version", description="Incremented by each change; the ETag carries it"
    )
    created_at: dt.datetime
    updated_at: dt.datetime
    archived_at: dt.datetime | None = Field(
        description="When it was archived (DELETE); null while in use. Not the `archived` status, which "
        "retires a published template that stays readable"
    )
