from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field

from planeco_diagnostic.campaigns.models import InviteeType

TOKEN_HEADER = "X-Invitation-Token"  # noqa: S105 (a header name)


class TokenIssued(BaseModel):
    """A new invitation token: shown this once (only its hash is kept), valid while the campaign is open."""

    campaign_id: uuid.UUID
    code: str = Field(description="The invitee: INSEE code; SIREN for an EPCI", examples=["244500468"])
    name: str = Field(examples=["Orléans Métropole"])
    token: str = Field(
        description=f"Send it as the `{TOKEN_HEADER}` header to `/api/v1/answer…`; never put it in a URL",
        examples=["q3V1b2l0LXRvdXQtZXN0LXBlcm1pcy1zYXVmLWxlLXRva2Vu"],
    )
    issued_at: dt.datetime


class InvitationRead(BaseModel):
    """What a token gives access to: one invitee of one open campaign."""

    campaign_id: uuid.UUID
    campaign_title: str = Field(examples=["Diagnostic COP Centre-Val de Loire 2026"])
    opening_date: dt.date = Field(examples=["2026-03-02"])
    closing_date: dt.date = Field(examples=["2026-04-30"])
    questionnaire_id: uuid.UUID
    code: str = Field(description="INSEE code; SIREN for an EPCI", examples=["244500468"])
    name: str = Field(examples=["Orléans Métropole"])
    type: InviteeType
    departement: str | None = Field(description="The département it lies in (an EPCI: its seat's)")
