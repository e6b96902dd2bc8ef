from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from planeco_diagnostic.campaigns.models import Campaign, InviteeType
from planeco_diagnostic.questionnaires.schemas import Owner
from planeco_shared.codes import DEPARTEMENT_PATTERN, REGION_PATTERN
from planeco_shared.text import FreeText

Title = Annotated[FreeText, StringConstraints(strip_whitespace=True, min_length=3, max_length=200)]
DepartementCode = Annotated[str, StringConstraints(pattern=DEPARTEMENT_PATTERN)]
PanoramaVersion = Annotated[str, StringConstraints(pattern=r"^(\d{4}-\d{2}-\d{2}|latest)$")]


class InviteeNature(StrEnum):
    """Nature juridique of an EPCI à fiscalité propre (DGCL codes; MET69: the Métropole de Lyon)."""

    ME = "ME"
    MET69 = "MET69"
    CU = "CU"
    CA = "CA"
    CC = "CC"


class InviteeSelection(BaseModel):
    """Which collectivités of the campaign's territory are invited."""

    model_config = ConfigDict(extra="forbid")

    region: bool = Field(default=True, description="Optional; default true: the région (a région's campaign)")
    departements: bool = Field(default=True, description="Optional; default true: the départements")
    epci_natures: list[InviteeNature] = Field(
        default_factory=lambda: list(InviteeNature),
        max_length=5,
        description="Optional; default every nature: the EPCI à fiscalité propre of these natures ([]: none)",
    )
    communes: bool = Field(default=False, description="Optional; default false: every commune too")
    departement_codes: list[DepartementCode] | None = Field(
        default=None,
        min_length=1,
        description="Optional; default (null) the whole territory: only these départements (their EPCI by "
        "seat, their communes) are invited",
    )


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    questionnaire_id: uuid.UUID = Field(description="Locked by the campaign (immutable from then on)")
    owner: Owner = Field(description="The région or département that runs the campaign")
    title: Title = Field(examples=["Diagnostic COP Centre-Val de Loire 2026"])
    opening_date: dt.date = Field(examples=["2026-03-02"])
    closing_date: dt.date = Field(description="On or after the opening date", examples=["2026-04-30"])
    panorama_version: PanoramaVersion = Field(
        description="The SGPE panorama version it refers to (a release date, or `latest`: stored as that "
        "day's latest version)",
        examples=["2024-07-24"],
    )
    invitees: InviteeSelection = Field(
        default_factory=InviteeSelection,
        description="Optional; default: the région, its départements and every EPCI, no commune",
    )

    @model_validator(mode="after")
    def _dates_in_order(self) -> CampaignCreate:
        if self.closing_date < self.opening_date:
            raise ValueError("closing_date is before opening_date")
        return self


class CampaignUpdate(BaseModel):
    """A campaign's title and dates (its questionnaire, owner, panorama version and invitees stay as
    created: responses and syntheses rest on them)."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = Field(default=None, description="Optional")
    opening_date: dt.date | None = Field(
        default=None,
        description="Optional; only before the campaign opens, and not before today",
        examples=["2026-03-09"],
    )
    closing_date: dt.date | None = Field(
        default=None,
        description="Optional; later to extend the campaign (a closed one opens again until then), earlier "
        "to close it sooner; on or after the opening date, and not before yesterday (yesterday: closed "
        "from today on, which also cancels a campaign not yet open). Invitation tokens are valid until it.",
        examples=["2026-05-31"],
    )

    @model_validator(mode="after")
    def _something(self) -> CampaignUpdate:
        given = {name for name in self.model_fields_set if getattr(self, name) is not None}
        if not given:
            raise ValueError("Nothing to change: give title, opening_date or closing_date")
        return self


class CampaignRead(BaseModel):
    id: uuid.UUID
    questionnaire_id: uuid.UUID
    owner: Owner
    region: str = Field(description="The région the campaign's territory lies in", examples=["24"])
    title: str
    opening_date: dt.date
    closing_date: dt.date
    panorama_version: str = Field(examples=["2024-07-24"])
    invitees: InviteeSelection = Field(description="The selection as asked")
    invitee_counts: dict[InviteeType, int] = Field(
        description="How many collectivités of each type were invited",
        examples=[{"region": 1, "departement": 6}],
    )
    created_by: str
    revision: int = Field(description="Incremented by each change; the ETag carries it")
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, campaign: Campaign, counts: dict[InviteeType, int]) -> CampaignRead:
        return cls(
            id=campaign.id,
            questionnaire_id=campaign.questionnaire_id,
            owner=Owner(level=campaign.owner_level.value, code=campaign.owner_code),
            region=campaign.owner_region,
            title=campaign.title,
            opening_date=campaign.opening_date,
            closing_date=campaign.closing_date,
            panorama_version=campaign.panorama_version,
            invitees=InviteeSelection.model_validate(campaign.selection),
            invitee_counts=counts,
            created_by=campaign.created_by,
            revision=campaign.version,
            created_at=campaign.created_at,
            updated_at=campaign.updated_at,
        )


class CampaignFilters(BaseModel):
    """The list's query parameters, passed whole to the service."""

    region: str | None = Field(
        default=None, pattern=REGION_PATTERN, description="Only the campaigns in this région (INSEE code)"
    )
    questionnaire_id: uuid.UUID | None = Field(default=None, description="Only those of this questionnaire")


class InviteeFilters(BaseModel):
    """The list's query parameters, passed whole to the service."""

    type: InviteeType | None = Field(default=None, description="Only invitees of this type")
    departement: str | None = Field(
        default=None, pattern=DEPARTEMENT_PATTERN, description="Only those in this département"
    )


class InviteeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str = Field(description="INSEE code; SIREN for an EPCI", examples=["200000172"])
    name: str = Field(examples=["CC Touraine Vallée de l'Indre"])
    type: InviteeType
    departement: str | None = Field(description="The département it lies in (an EPCI: its seat's)")
    population: int
