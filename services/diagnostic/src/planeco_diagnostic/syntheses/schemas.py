from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from planeco_diagnostic.campaigns.models import InviteeType
from planeco_diagnostic.responses.schemas import Need

ShareString = Annotated[str, StringConstraints(pattern=r"^(0|1)\.\d{4}$")]
NOT_ANSWERED = "non_renseigne"
SUPPRESSED_REASON = "fewer than 3 respondents: suppressed so that no collectivité's answers can be read"


class Family(StrEnum):
    engages = "engages"
    a_accelerer = "a_accelerer"
    a_debattre = "a_debattre"


class Thresholds(BaseModel):
    relevance: ShareString = Field(
        description="A lever is judged relevant when pertinent answers / answers giving a pertinence ≥ this",
        examples=["0.5000"],
    )
    engagement: ShareString = Field(
        description="A relevant lever is `engages` when the pertinent answers that are realise or en_cours "
        "/ the pertinent answers ≥ this, else `a_accelerer`",
        examples=["0.5000"],
    )


class AnswerCount(BaseModel):
    """How many answers gave one value, and their share."""

    count: int | None = Field(examples=[3])
    share: ShareString | None = Field(description="count / n, 4 places, half to even", examples=["0.7500"])


class Cell(BaseModel):
    pertinence: str = Field(description=f"A pertinence, or `{NOT_ANSWERED}`", examples=["pertinent"])
    mobilisation: str = Field(description=f"A mobilisation, or `{NOT_ANSWERED}`", examples=["en_cours"])
    count: int = Field(examples=[3])
    share: ShareString = Field(examples=["0.2500"])


class NeedCount(BaseModel):
    need: Need
    count: int
    share: ShareString = Field(
        description="count / n (the answers), 4 places, half to even", examples=["0.1818"]
    )


class Distribution(BaseModel):
    """Pertinence × mobilisation of a set of answers. Suppressed (public form, fewer than 3 respondents):
    every figure null, `suppressed` true and the reason."""

    n: int | None = Field(description="How many answers the figures count", examples=[42])
    respondents: int | None = Field(description="How many collectivités gave them", examples=[21])
    suppressed: bool = False
    reason: str | None = None
    pertinence: dict[str, AnswerCount] | None = Field(description=f"Per pertinence (and `{NOT_ANSWERED}`)")
    mobilisation: dict[str, AnswerCount] | None = Field(
        description=f"Per mobilisation (and `{NOT_ANSWERED}`)"
    )
    cells: list[Cell] | None = Field(description="The non-empty pertinence × mobilisation cells")
    relevant_share: ShareString | None = Field(
        description="pertinent / answers giving a pertinence (null: none gave one)"
    )
    engaged_share: ShareString | None = Field(
        description="(pertinent and realise or en_cours) / pertinent (null: none pertinent)"
    )
    needs: list[NeedCount] | None = Field(
        default=None, description="The needs expressed, most expressed first (overall figures only)"
    )


class TypeDistribution(Distribution):
    type: InviteeType


class DepartementDistribution(Distribution):
    departement: str | None = Field(description="null: the région itself", examples=["45"])


class ItemSynthesis(BaseModel):
    item_key: str = Field(examples=["flotte-electrique"])
    label: str
    section_key: str
    lever_ids: list[str]
    withheld: int | None = Field(
        description="The public form: this item's answers left out of every figure because their cell "
        "(collectivité type × département) holds fewer than 3; null in the full form",
        examples=[4],
    )
    overall: Distribution
    by_type: list[TypeDistribution]
    by_departement: list[DepartementDistribution]


class LeverSynthesis(BaseModel):
    lever_id: str = Field(examples=["augm_voitelec"])
    item_keys: list[str] = Field(description="The action items counted for this lever")
    family: Family | None = Field(
        description="By the rule of `thresholds` on `overall`; null when no answer gives a pertinence "
        "(or suppressed)"
    )
    overall: Distribution
    by_type: list[TypeDistribution]
    by_departement: list[DepartementDistribution]


class Strength(BaseModel):
    item_key: str
    label: str
    count: int = Field(description="Answers realise or en_cours")
    share: ShareString = Field(
        description="count / the département's answers to the item", examples=["0.5000"]
    )


class MainLever(BaseModel):
    lever_id: str
    count: int = Field(description="Answers realise or en_cours on the lever's items")
    share: ShareString = Field(
        description="count / the département's answers on the lever's items", examples=["0.5000"]
    )


class DepartementSummary(BaseModel):
    departement: str | None = Field(description="null: the région itself")
    respondents: int | None
    suppressed: bool = False
    reason: str | None = None
    strengths: list[Strength] | None = Field(description="Its actions most done (realise, en_cours), top 5")
    main_levers: list[MainLever] | None = Field(description="Its levers most engaged, top 3")


class Synthesis(BaseModel):
    """What the submitted responses of a campaign say, lever by lever and item by item."""

    campaign_id: uuid.UUID
    title: str
    counted: str = Field(description="Which responses are counted: `submitted` (drafts never)")
    respondents: int = Field(description="Submitted responses with at least one action answer")
    public: bool = Field(description="The public form: figures on fewer than 3 respondents suppressed")
    published_at: dt.datetime | None
    thresholds: Thresholds
    withheld: int | None = Field(
        description="The public form: the action answers left out (the sum of the items' `withheld`); "
        "null in the full form",
        examples=[12],
    )
    overall: Distribution = Field(description="Every action answer (of the public form: those kept)")
    levers: list[LeverSynthesis]
    items: list[ItemSynthesis]
    departements: list[DepartementSummary]


class Publication(BaseModel):
    campaign_id: uuid.UUID
    published_at: dt.datetime
    published_by: str
    public_url: str = Field(examples=["/api/v1/campaigns/3f2a…/synthesis/public"])


class ObjectiveUsed(StrEnum):
    official = "official"
    adjusted = "adjusted"


class QuantityFigure(BaseModel):
    """Quantities reported, summed across respondents (exact), and their ktCO2e."""

    quantity: str | None = Field(
        description="Exact sum in the lever's unit (plain decimal string); null: not summable or suppressed",
        examples=["0.016"],
    )
    respondents: int | None = Field(description="How many collectivités reported a quantity in it")
    ktco2e: str | None = Field(
        description="quantity / |ratio|, to 4 places (half to even); null: not convertible or suppressed",
        examples=["1.2345"],
    )
    suppressed: bool = False
    reason: str | None = None


class DepartementDistance(BaseModel):
    departement: str | None = Field(description="null: the région itself (no declined objective)")
    done: QuantityFigure
    planned: QuantityFigure
    objective_ktco2e: str | None = Field(
        description="The région's official objective declined to the département (levers service, to "
        "0.001 ktCO2e by largest remainders); null for the région itself"
    )


class LeverDistance(BaseModel):
    lever_id: str
    name: str
    unit: str | None = Field(description="The lever's physical unit, the one of the quantities")
    summable: bool = Field(
        description="False for an intensive unit (per inhabitant, per car…): quantities of collectivités do "
        "not add up, so no sum and no ktCO2e"
    )
    note: str | None = Field(description="Why a figure is missing, plainly")
    ratio: str | None = Field(description="The région's ratio at the panorama version (physical per ktCO2e)")
    done: QuantityFigure = Field(description="Reported with mobilisation `realise`")
    planned: QuantityFigure = Field(description="Reported with mobilisation `en_cours` or `planifie`")
    objective_ktco2e: str = Field(description="The région's official objective (SGPE panorama)")
    adjusted_objective_ktco2e: str | None = Field(
        description="The région's adjusted objective, if it set one"
    )
    objective_basis: ObjectiveUsed = Field(description="Which objective `remaining_ktco2e` is against")
    remaining_ktco2e: str | None = Field(
        description="objective − done − planned ktCO2e, from done and planned as shown (4 places), rounded "
        "to 4 places half to even, so that the three shown figures add up; negative: beyond the objective"
    )
    by_departement: list[DepartementDistance]


class Distance(BaseModel):
    """How far what the collectivités report goes toward the région's objectives, lever by lever."""

    campaign_id: uuid.UUID
    region: str
    panorama_version: str
    counted: str = Field(description="`submitted`: drafts never count")
    public: bool
    levers: list[LeverDistance] = Field(description="The levers of the questionnaire's items with a quantity")


SignedShare = Annotated[str, StringConstraints(pattern=r"^-?(0|1)\.\d{4}$")]


class ComparedSide(BaseModel):
    """One campaign's figures of a compared item or lever (its public form when the caller is not among
    its managers)."""

    n: int | None
    respondents: int | None
    suppressed: bool
    pertinence: dict[str, ShareString] | None = Field(description="Share per pertinence")
    mobilisation: dict[str, ShareString] | None = Field(description="Share per mobilisation")
    relevant_share: ShareString | None
    engaged_share: ShareString | None


class Difference(BaseModel):
    """The second campaign's shares minus the first's, computed on the exact fractions, then rounded to
    4 places half to even; null when a side has no figure."""

    pertinence: dict[str, SignedShare] | None
    mobilisation: dict[str, SignedShare] | None
    relevant_share: SignedShare | None
    engaged_share: SignedShare | None


class ComparedFigure(BaseModel):
    key: str = Field(description="The item key or the lever id")
    label: str | None = Field(description="The item's label (the first campaign's); null for a lever")
    first: ComparedSide
    second: ComparedSide
    difference: Difference


class Comparison(BaseModel):
    campaign_id: uuid.UUID
    with_campaign_id: uuid.UUID
    counted: str = Field(description="`submitted` in both")
    first_public: bool = Field(description="Whether the first campaign's public form is compared")
    second_public: bool
    items: list[ComparedFigure] = Field(description="The action items both questionnaires have (by key)")
    levers: list[ComparedFigure] = Field(
        description="The levers whose action items are the same in both questionnaires"
    )
    only_in_first: list[str] = Field(description="Action item keys of the first questionnaire only")
    only_in_second: list[str] = Field(description="Action item keys of the second questionnaire only")
