from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from planeco_diagnostic.campaigns.models import InviteeType
from planeco_diagnostic.questionnaires.document import DECIMAL_PATTERN, KEY_PATTERN
from planeco_shared.text import FreeText

DecimalString = Annotated[str, StringConstraints(pattern=DECIMAL_PATTERN)]
OptionKey = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]


class Pertinence(StrEnum):
    pertinent = "pertinent"
    non_pertinent = "non_pertinent"
    a_discuter = "a_discuter"


class Mobilisation(StrEnum):
    realise = "realise"
    en_cours = "en_cours"
    planifie = "planifie"
    envisage = "envisage"
    non_engage = "non_engage"


class Need(StrEnum):
    ingenierie = "ingenierie"
    financement = "financement"
    donnees = "donnees"
    formation = "formation"
    reglementation = "reglementation"
    autre = "autre"


class ActionAnswer(BaseModel):
    """The answer to an action item; every field optional."""

    model_config = ConfigDict(extra="forbid")

    pertinence: Pertinence | None = None
    mobilisation: Mobilisation | None = None
    needs: list[Need] = Field(default_factory=list, max_length=6)
    comment: Annotated[FreeText, StringConstraints(max_length=2000)] = ""
    quantity: DecimalString | None = Field(
        default=None,
        description="Decimal string, ≥ 0 and at most the item's `maximum` if it sets one, in the item's unit "
        "(only where the item asks for one)",
    )
    unit: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None,
        description="Optional: the unit `quantity` is in, checked rather than assumed: it must be the item's "
        "`unit` (422 `wrong_unit` otherwise). Not stored: the stored answer carries the item's unit",
        examples=["véhicules"],
    )


class ResponseStatusRead(StrEnum):
    not_started = "not_started"
    draft = "draft"
    submitted = "submitted"


class AnswersUpdate(BaseModel):
    """A partial save: each named item's answer replaces its previous one; `null` clears it."""

    model_config = ConfigDict(extra="forbid")

    answers: dict[Annotated[str, StringConstraints(max_length=60)], Any] = Field(
        max_length=1000,
        description="Item key → answer. action: {pertinence, mobilisation, needs, comment, quantity}; text: "
        "a string; number: a decimal string; single_choice: an option key; multiple_choice: option keys; "
        "null clears the item's answer",
        examples=[{"bus-decarbones": {"pertinence": "pertinent", "mobilisation": "en_cours"}}],
    )


class ResponseRead(BaseModel):
    campaign_id: uuid.UUID
    code: str = Field(description="The invitee: INSEE code; SIREN for an EPCI", examples=["244500468"])
    name: str = Field(examples=["Orléans Métropole"])
    type: InviteeType
    status: ResponseStatusRead
    answers: dict[str, Any] = Field(
        description="Item key → answer as validated; an action's quantity is also given in the lever's "
        "unit (`lever_quantity` = `quantity` × the item's `lever_unit_factor`, exact)",
        examples=[
            {
                "flotte-electrique": {
                    "pertinence": "pertinent",
                    "mobilisation": "en_cours",
                    "needs": ["financement"],
                    "comment": "",
                    "quantity": "12",
                    "lever_quantity": "12",
                }
            }
        ],
    )
    created_at: dt.datetime | None = Field(description="When the first answer was saved; null: not started")
    updated_at: dt.datetime | None
    submitted_at: dt.datetime | None
    revision: int = Field(description="0 while not started; the ETag carries it")


RateString = Annotated[str, StringConstraints(pattern=r"^(0|1)\.\d{4}$")]


class StatsCounts(BaseModel):
    invited: int = Field(examples=[86])
    started: int = Field(description="With a saved draft or submitted", examples=[40])
    submitted: int = Field(examples=[31])
    started_rate: RateString = Field(
        description="started / invited, to 4 decimal places (half to even); the exact fraction is the counts",
        examples=["0.4651"],
    )
    submitted_rate: RateString = Field(
        description="submitted / invited (the response rate), to 4 decimal places (half to even)",
        examples=["0.3605"],
    )


class TypeStats(StatsCounts):
    type: InviteeType


class DepartementStats(StatsCounts):
    departement: str | None = Field(description="null: the région itself", examples=["45"])


class CampaignStats(BaseModel):
    """Live counts: the parts of each breakdown add up to `overall`."""

    campaign_id: uuid.UUID
    overall: StatsCounts
    by_type: list[TypeStats] = Field(description="Every invited type, in the order of the types")
    by_departement: list[DepartementStats] = Field(
        description="Every département invited, by code; the région (no département) last"
    )
