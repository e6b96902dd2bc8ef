from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from planeco_diagnostic.campaigns.models import InviteeType
from planeco_shared.codes import DEPARTEMENT_PATTERN

DepartementCode = Annotated[str, StringConstraints(pattern=DEPARTEMENT_PATTERN)]
InviteeCode = Annotated[str, StringConstraints(min_length=2, max_length=9)]


class MailingKind(StrEnum):
    """The e-mail template a mailing uses (planeco_diagnostic.outbox.templates)."""

    invitation = "invitation"
    relance = "relance"  # a reminder


class InviteeChoice(BaseModel):
    """Which invitees of the campaign; every field optional, the fields given all apply (an empty body: every
    invitee)."""

    model_config = ConfigDict(extra="forbid")

    codes: list[InviteeCode] | None = Field(
        default=None,
        min_length=1,
        max_length=10_000,
        description="Optional: only these invitees (INSEE code; SIREN for an EPCI); an unknown code is a 422",
        examples=[["45", "244500468"]],
    )
    types: list[InviteeType] | None = Field(
        default=None, min_length=1, description="Optional: only invitees of these types"
    )
    departements: list[DepartementCode] | None = Field(
        default=None, min_length=1, description="Optional: only invitees in these départements"
    )


class MailingCreate(InviteeChoice):
    all_contacts: bool = Field(
        default=False,
        description="Optional; default false: one e-mail per invitee, to its primary contact (or, if none is "
        "marked primary, its first by e-mail); true: one to each of its contacts, all with the same link",
    )


class MailingResult(BaseModel):
    """What a mailing queued in the outbox (sent by the `send-mail` job within a minute or so)."""

    campaign_id: uuid.UUID
    kind: MailingKind
    selected: int = Field(description="Invitees the choice named", examples=[86])
    already_submitted: int = Field(
        description="Reminders: invitees left out because they submitted their response (0 for invitations)",
        examples=[31],
    )
    reached: int = Field(description="Invitees written to (each got a new token)", examples=[52])
    messages: int = Field(description="E-mails queued", examples=[52])
    without_contact: list[str] = Field(
        description="Codes of the invitees left out for want of a contact with an e-mail (their token is "
        "untouched)",
        examples=[["200000172"]],
    )


class NonRespondentStatus(StrEnum):
    not_started = "not_started"
    draft = "draft"


class NonRespondentFilters(BaseModel):
    """The list's query parameters, passed whole to the service."""

    type: InviteeType | None = Field(default=None, description="Only invitees of this type")
    departement: str | None = Field(
        default=None, pattern=DEPARTEMENT_PATTERN, description="Only those in this département"
    )


class NonRespondentRead(BaseModel):
    code: str = Field(description="INSEE code; SIREN for an EPCI", examples=["200000172"])
    name: str = Field(examples=["CC Touraine Vallée de l'Indre"])
    type: InviteeType
    departement: str | None = Field(description="The département it lies in (an EPCI: its seat's)")
    status: NonRespondentStatus = Field(description="not_started: nothing saved; draft: saved, not submitted")
    contact_email: str | None = Field(
        description="Its primary contact's e-mail (null: no contact)", examples=["c.martin@loiret.fr"]
    )
