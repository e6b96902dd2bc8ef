from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints

from planeco_shared.owners import OWNER_QUERY_PATTERN, Owner
from planeco_shared.text import FreeText

LeverId = Annotated[str, StringConstraints(pattern=r"^[a-zà-ÿ0-9_-]{1,80}$")]
Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")]


class SupportType(StrEnum):
    """The kind of support (the SGPE's dispositifs d'accompagnement)."""

    subvention = "subvention"
    pret = "pret"
    ingenierie = "ingenierie"
    appel_a_projets = "appel_a_projets"
    donnees_outils = "donnees_outils"
    formation = "formation"
    autre = "autre"


class Audience(StrEnum):
    region = "region"
    departement = "departement"
    epci = "epci"
    commune = "commune"
    syndicat = "syndicat"
    etablissement_public = "etablissement_public"
    entreprise = "entreprise"
    association = "association"
    particulier = "particulier"


class SupportMeasureRow(BaseModel):
    """One row of an import file (see `IMPORT_FORMAT`)."""

    model_config = ConfigDict(extra="forbid")

    key: Key
    title: Annotated[FreeText, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)]
    carrier: Annotated[FreeText, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    url: AnyHttpUrl | None = None
    description: FreeText = Field(default="", max_length=10_000)
    lever_ids: list[LeverId] = Field(min_length=1, max_length=40)
    support_types: list[SupportType] = Field(min_length=1, max_length=len(SupportType))
    audiences: list[Audience] = Field(default_factory=list, max_length=len(Audience))
    in_own_hands: FreeText = Field(default="", max_length=5_000)
    resources: FreeText = Field(default="", max_length=5_000)


class SupportMeasureRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    owner: Owner | None = Field(description="The owning région or département; null: the nation's")
    key: str = Field(description="The owner's stable key of the measure: a re-import updates it in place")
    title: str
    carrier: str = Field(description="The body that offers the support")
    url: str | None
    description: str
    lever_ids: list[str]
    support_types: list[SupportType]
    audiences: list[Audience]
    in_own_hands: str = Field(description="What lies in the collectivité's own hands")
    resources: str
    revision: int = Field(description="Incremented by each change")
    created_at: dt.datetime
    updated_at: dt.datetime
    archived_at: dt.datetime | None = Field(description="When a later import left it out; null while listed")


class SupportFilters(BaseModel):
    """The list's query parameters, passed whole to the service. Repeat a filter for several values (OR);
    different filters combine (AND)."""

    lever_id: Annotated[
        list[LeverId] | None, Field(max_length=50, description="Only measures for these levers (repeat)")
    ] = None
    support_type: Annotated[
        list[SupportType] | None, Field(max_length=len(SupportType), description="Only these kinds (repeat)")
    ] = None
    audience: Annotated[
        list[Audience] | None, Field(max_length=len(Audience), description="Only measures for these (repeat)")
    ] = None
    owner: Annotated[
        str | None,
        Field(
            pattern=OWNER_QUERY_PATTERN,
            description="Only this owner's catalogue: `nation`, `region:24` or `departement:45`",
        ),
    ] = None


class SupportImportReport(BaseModel):
    owner: Owner | None = Field(description="The catalogue imported; null: the nation's")
    rows: int = Field(description="Rows read from the file")
    created: int
    updated: int
    unchanged: int
    archived: int = Field(description="The owner's measures the file left out: archived, not deleted")
    restored: int = Field(description="Archived measures the file listed again")
