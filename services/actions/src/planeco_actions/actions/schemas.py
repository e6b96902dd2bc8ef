from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from planeco_actions.actions.models import ActionStatus, Nature, TerritoryLevel
from planeco_shared.codes import DEPARTEMENT_PATTERN, REGION_PATTERN, RegionCode
from planeco_shared.decimals import Scale
from planeco_shared.patch import OMITTED, PatchBody
from planeco_shared.text import FreeText, NonBlankText

# SGPE lever ids are lowercase words and may carry accents (`augm_vélotc`).
LeverId = Annotated[str, StringConstraints(pattern=r"^[a-zà-ÿ0-9_-]{1,80}$")]
Title = Annotated[FreeText, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)]
Name = Annotated[
    NonBlankText,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    Field(examples=["ADEME Centre-Val de Loire"]),
]
Role = Annotated[FreeText, StringConstraints(strip_whitespace=True, max_length=200)]
Label = Annotated[
    NonBlankText,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    Field(examples=["Études préalables"]),
]
ExternalId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$"),
    Field(description="The sending system's id: unique among the actions of one territory"),
]
# A territory of any level by its official code: INSEE (région, département, commune), SIREN (EPCI), or
# the uploaded id of a CRTE. The level says which.
TerritoryCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"), Field(examples=["24"])
]
Year = Annotated[int, Field(ge=2019, le=2050, examples=[2026])]
Date = Annotated[dt.date, Field(ge=dt.date(2015, 1, 1), le=dt.date(2060, 12, 31))]
# Quantized to the columns' scales (NUMERIC(16, 2), NUMERIC(14, 4)): read back the same everywhere; at most
# 15 significant digits, what both databases store exactly (planeco_shared.decimals).
Cost = Annotated[
    Decimal, Field(ge=0, le=Decimal("9999999999999.99")), Scale(2)  # euros, to the cent
]
Ktco2e = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("999999"), description="ktCO2e avoided in 2030 versus 2019, to 0.0001"),
    Scale(4),
]
Physical = Annotated[
    Decimal,
    Field(
        ge=Decimal("-999999999999"),
        le=Decimal("999999999999"),
        description="The change the action brings to the lever's physical quantity in 2030, in its unit, to "
        "0.001 (negative where the quantity must go down, e.g. homes heated with oil)",
    ),
    Scale(3),
]
PanoramaVersion = Annotated[
    str,
    StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$"),
    Field(description="A panorama version (an SGPE release date)", examples=["2024-07-24"]),
]
Url = Annotated[
    str,
    StringConstraints(pattern=r"^https?://[^\s\x00-\x1f\x7f]{1,2000}$"),
    Field(examples=["https://www.centre-valdeloire.fr/deliberation-haies.pdf"]),
]


class TerritoryRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: TerritoryLevel
    code: TerritoryCode

    @model_validator(mode="after")
    def _code_fits_level(self) -> Self:
        patterns = {
            TerritoryLevel.region: REGION_PATTERN,
            TerritoryLevel.departement: DEPARTEMENT_PATTERN,
            TerritoryLevel.epci: r"^\d{9}$",
            TerritoryLevel.commune: r"^(\d{5}|2[AB]\d{3})$",
        }
        pattern = patterns.get(self.level)
        if pattern is not None and not re.match(pattern, self.code):
            raise ValueError(f"{self.code!r} is not the official code of a {self.level.value}")
        return self


class TerritoryRead(BaseModel):
    level: TerritoryLevel
    code: str
    name: str = Field(description="Its official name, from the levers service")


class ActorKind(StrEnum):
    collectivite = "collectivite"  # a collectivité, by its territory
    etat = "etat"  # a State service
    entreprise = "entreprise"
    association = "association"
    autre = "autre"


class Actor(BaseModel):
    """A carrier or a partner: a collectivité by its territory (`kind: collectivite`, `territory`), or
    another organisation by `name` and `kind`; with its role in the action."""

    model_config = ConfigDict(extra="forbid")

    kind: ActorKind
    territory: TerritoryRef | None = Field(default=None, description="For a collectivité only")
    name: Name | None = Field(default=None, description="For an organisation; a collectivité's is its own")
    role: Role = Field(default="", description="Its role (pilote, financeur…); empty when omitted")

    @model_validator(mode="after")
    def _one_identity(self) -> Self:
        if self.kind is ActorKind.collectivite:
            if self.territory is None or self.name is not None:
                raise ValueError("a collectivité is named by its territory (level, code), not by a name")
        elif self.name is None or self.territory is not None:
            raise ValueError("an organisation is named by its name, not by a territory")
        return self


class ActorRead(BaseModel):
    kind: ActorKind
    territory: TerritoryRead | None
    name: str
    role: str


class PhaseKind(StrEnum):
    phase = "phase"
    jalon = "jalon"  # a milestone: one date


class Phase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: PhaseKind
    label: Label
    start_date: Date = Field(description="The phase's start, or the milestone's date")
    end_date: Date | None = Field(default=None, description="A phase's end; none for a milestone")

    @model_validator(mode="after")
    def _dates(self) -> Self:
        if self.kind is PhaseKind.jalon and self.end_date is not None:
            raise ValueError("a milestone (jalon) has one date: start_date")
        if self.kind is PhaseKind.phase and self.end_date is None:
            raise ValueError("a phase needs an end_date")
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        return self


class BudgetStatus(StrEnum):
    planifie = "planifie"
    acquis = "acquis"  # secured


class BudgetLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: Year
    financer: Name = Field(description="Who pays (Région, État – fonds vert, ADEME, the carrier…)")
    amount_eur: Cost = Field(description="Euros, to the cent", examples=["150000.00"])
    status: BudgetStatus
    aid_id: int | None = Field(
        default=None,
        ge=1,
        le=2_147_483_647,
        description="The aid of the catalogue (`GET /aids/{aid_id}`, the Aides-territoires id) this line is "
        "financed by; it must be in the catalogue when the line is written (it may stop being live later)",
        examples=[162936],
    )


class BudgetLineRead(BaseModel):
    """A budget line as read (its own schema: a read gives decimals as strings, a write takes numbers too)."""

    year: int
    financer: str
    amount_eur: Decimal = Field(description="Euros, to the cent", examples=["150000.00"])
    status: BudgetStatus
    aid_id: int | None = Field(default=None, description="The aid of the catalogue it is financed by, if any")


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Label
    url: Url


class ImpactUnit(StrEnum):
    ktco2e = "ktco2e"
    physical = "physical"


class ImpactInput(BaseModel):
    """The expected impact of the action on one of its levers: `ktco2e` or `physical` (the other is derived
    with the levers service's conversion for the action's région at `version`)."""

    model_config = ConfigDict(extra="forbid")

    lever_id: LeverId = Field(description="The main lever or one of `other_lever_ids`")
    ktco2e: Ktco2e | None = None
    physical: Physical | None = None
    version: PanoramaVersion | None = Field(
        default=None, description="The panorama version converting it; the latest when omitted"
    )

    @model_validator(mode="after")
    def _one_quantity(self) -> Self:
        if (self.ktco2e is None) == (self.physical is None):
            raise ValueError("give exactly one of ktco2e or physical")
        return self


class ImpactRead(BaseModel):
    lever_id: str
    entered: ImpactUnit = Field(description="Which quantity was entered; the other is derived")
    ktco2e: Decimal = Field(description="ktCO2e avoided in 2030, to 0.0001 (derived: ROUND_HALF_EVEN)")
    physical: Decimal | None = Field(
        description="The change in the lever's physical unit, to 0.001 (derived: ROUND_HALF_EVEN); null for "
        "levers without a physical unit or with an intensive one (kg/hab, L/100 km…)"
    )
    unit: str | None = Field(description="The lever's physical unit at `version`")
    version: str | None = Field(
        description="The panorama version whose factors derived it (null: entered in ktCO2e before "
        "conversions were stored; recompute to convert)"
    )
    ratio: Decimal | None = Field(description="The région's ratio (physical units per ktCO2e) at `version`")


class ImpactChange(BaseModel):
    lever_id: str
    old: ImpactRead
    new: ImpactRead


class ImpactRecompute(BaseModel):
    action_id: uuid.UUID
    version: str = Field(description="The panorama version the impacts are now converted with")
    revision: int = Field(description="The action's revision after the recompute")
    changes: list[ImpactChange] = Field(description="Every impact, old → new (the same when nothing moved)")


class ActionSort(StrEnum):
    created_at = "created_at"
    title_ = "title"  # a member named `title` would shadow str.title
    start_date = "start_date"
    end_date = "end_date"
    estimated_cost_eur = "estimated_cost_eur"
    status = "status"


TERRITORY_FILTER = r"^(region|departement|epci|crte|commune):[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"


class ActionFilters(BaseModel):
    """The list's query parameters, passed whole to the service."""

    # Repeat a filter for several values (OR); different filters combine (AND).
    region: Annotated[
        list[RegionCode] | None,
        Field(max_length=20, description="Only actions on territories inside these régions (repeat)"),
    ] = None
    departement: Annotated[
        list[Annotated[str, StringConstraints(pattern=DEPARTEMENT_PATTERN)]] | None,
        Field(max_length=20, description="Only actions on territories inside these départements (repeat)"),
    ] = None
    lever_id: Annotated[
        list[LeverId] | None,
        Field(max_length=50, description="Only actions for these levers, main or other (repeat)"),
    ] = None
    territory: Annotated[
        list[Annotated[str, StringConstraints(pattern=TERRITORY_FILTER)]] | None,
        Field(
            max_length=20,
            description="Only actions on exactly these territories, as `level:code` (repeat)",
            examples=[["epci:244500468"]],
        ),
    ] = None
    sector: Annotated[
        list[Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,80}$")]] | None,
        Field(
            max_length=20, description="Only actions with a lever (main or other) in these sectors (repeat)"
        ),
    ] = None
    carrier: Annotated[
        list[Annotated[NonBlankText, StringConstraints(max_length=200)]] | None,
        Field(
            max_length=20,
            description="Only actions carried by these: a collectivité's code, or an organisation's name "
            "(case and accents ignored) (repeat)",
        ),
    ] = None
    status: Annotated[
        list[ActionStatus] | None, Field(max_length=5, description="Only actions in these statuses (repeat)")
    ] = None
    nature: Annotated[
        list[Nature] | None, Field(max_length=4, description="Only actions of these natures (repeat)")
    ] = None
    multi_acteurs: Annotated[
        bool | None, Field(description="Only multi-actor actions (or only the others)")
    ] = None
    structurante: Annotated[
        bool | None, Field(description="Only structuring actions (or only the others)")
    ] = None
    year: Annotated[
        int | None,
        Field(
            ge=2015,
            le=2060,
            description="Only actions whose calendar (start_date–end_date) overlaps that year: a start on or "
            "before 31 December and an end on or after 1 January, a missing date leaving its side open "
            "(an action with an end date only is under way until then); actions with neither date are left "
            "out (their phases are not read)",
        ),
    ] = None
    q: Annotated[
        FreeText | None,
        Field(
            max_length=200,
            description="Words in the title or description, each of them (case and accents ignored)",
        ),
    ] = None
    sort: Annotated[
        ActionSort,
        Field(
            description="Sort key. Actions without a value for it (no start_date, end_date or "
            "estimated_cost_eur) come last, ascending or descending; ties in the order of the action ids"
        ),
    ] = ActionSort.created_at
    descending: Annotated[bool, Field(description="Sort in descending order")] = False


def calendar_errors(
    start: dt.date | None, end: dt.date | None, phases: list[dict[str, Any]] | list[Phase]
) -> list[tuple[list[str | int], str]]:
    """Where the calendar contradicts itself: (location, message) pairs."""
    errors: list[tuple[list[str | int], str]] = []
    if start is not None and end is not None and end < start:
        errors.append((["body", "end_date"], "must not be before start_date"))
    for index, raw in enumerate(phases):
        phase = raw if isinstance(raw, Phase) else Phase.model_validate(raw)
        last = phase.end_date or phase.start_date
        if (start is not None and phase.start_date < start) or (end is not None and last > end):
            errors.append(
                (["body", "phases", index], "lies outside the action's calendar (start_date–end_date)")
            )
    return errors


def lever_errors(lever_id: str | None, others: list[str]) -> list[tuple[list[str | int], str]]:
    errors: list[tuple[list[str | int], str]] = []
    for index, other in enumerate(others):
        if other == lever_id:
            errors.append((["body", "other_lever_ids", index], "repeats the main lever_id"))
        elif other in others[:index]:
            errors.append((["body", "other_lever_ids", index], "repeats a lever"))
    return errors


def budget_errors(lines: list[BudgetLine] | list[dict[str, Any]]) -> list[tuple[list[str | int], str]]:
    seen: set[tuple[int, str]] = set()
    errors: list[tuple[list[str | int], str]] = []
    for index, raw in enumerate(lines):
        line = raw if isinstance(raw, BudgetLine) else BudgetLine.model_validate(raw)
        key = (line.year, " ".join(line.financer.casefold().split()))
        if key in seen:
            errors.append(
                (["body", "budget_lines", index], f"a second line for {line.financer} in {line.year}")
            )
        seen.add(key)
    return errors


class ActionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: FreeText = Field(default="", max_length=20_000)
    lever_id: LeverId | None = Field(default=None, description="The main lever")
    other_lever_ids: list[LeverId] = Field(default_factory=list, max_length=20)
    territory: TerritoryRef = Field(
        description="Where the action is: a région, département, EPCI, CRTE, commune"
    )
    carriers: list[Actor] = Field(default_factory=list, max_length=50)
    partners: list[Actor] = Field(default_factory=list, max_length=50)
    status: ActionStatus = Field(
        default=ActionStatus.proposee, description="`proposee` when omitted (always, for a contributor)"
    )
    nature: Nature | None = Field(default=None, description="New, or an existing action amplified…")
    multi_acteurs: bool = Field(default=False, description="Mobilises several actors (false when omitted)")
    structurante: bool = Field(default=False, description="Structuring for its lever (false when omitted)")
    start_date: Date | None = None
    end_date: Date | None = None
    phases: list[Phase] = Field(default_factory=list, max_length=50)
    estimated_cost_eur: Cost | None = Field(default=None, description="Total estimate, euros")
    budget_lines: list[BudgetLine] = Field(default_factory=list, max_length=200)
    documents: list[Document] = Field(default_factory=list, max_length=50)
    external_id: ExternalId | None = None
    impacts: list[ImpactInput] = Field(
        default_factory=list, max_length=21, description="Expected impact per lever (one entry per lever)"
    )
    published: bool = Field(default=False, description="A public read when true (false when omitted)")


class ActionUpdate(PatchBody):
    """Omitted fields are kept; `null` clears the lever, the nature, the dates, the cost and the external
    id. The territory is not changed by a PATCH (record the action again, archive this one)."""

    title: Title = OMITTED
    description: FreeText = Field(default=OMITTED, max_length=20_000)
    lever_id: LeverId | None = None
    other_lever_ids: list[LeverId] = Field(default=OMITTED, max_length=20)
    carriers: list[Actor] = Field(default=OMITTED, max_length=50)
    partners: list[Actor] = Field(default=OMITTED, max_length=50)
    status: ActionStatus = OMITTED
    nature: Nature | None = None
    multi_acteurs: bool = OMITTED
    structurante: bool = OMITTED
    start_date: Date | None = None
    end_date: Date | None = None
    phases: list[Phase] = Field(default=OMITTED, max_length=50)
    estimated_cost_eur: Cost | None = None
    budget_lines: list[BudgetLine] = Field(default=OMITTED, max_length=200)
    documents: list[Document] = Field(default=OMITTED, max_length=50)
    external_id: ExternalId | None = None
    impacts: list[ImpactInput] = Field(default=OMITTED, max_length=21)
    published: bool = OMITTED


class ActionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str
    lever_id: str | None
    other_lever_ids: list[str]
    territory: TerritoryRead
    region: str = Field(description="The région the territory lies in (an EPCI across régions: its seat's)")
    departement: str | None = Field(description="The département it lies in; null for a région, a CRTE")
    carriers: list[ActorRead]
    partners: list[ActorRead]
    status: ActionStatus
    nature: Nature | None
    multi_acteurs: bool
    structurante: bool
    start_date: dt.date | None
    end_date: dt.date | None
    phases: list[Phase]
    estimated_cost_eur: Decimal | None
    budget_lines: list[BudgetLineRead]
    documents: list[Document]
    external_id: str | None
    impacts: list[ImpactRead]
    expected_impact_ktco2e: Decimal | None = Field(
        description="The sum of the impacts' ktCO2e (read only); null without impacts"
    )
    published: bool
    proposal_id: uuid.UUID | None = Field(
        description="The debate's proposal the action was promoted from (read only); null otherwise"
    )
    created_by: str
    revision: int = Field(description="Incremented by each change; the ETag carries it")
    created_at: dt.datetime
    updated_at: dt.datetime
    archived_at: dt.datetime | None = Field(
        description="When it was archived (DELETE); null while in use. Archived actions show only with "
        "include_archived"
    )

    @classmethod
    def of(cls, action: Any) -> ActionRead:
        return cls.model_validate(
            {
                **{name: getattr(action, name) for name in READ_ATTRIBUTES},
                "territory": {
                    "level": action.territory_level,
                    "code": action.territory_code,
                    "name": action.territory_name,
                },
                "region": action.region_code,
                "departement": action.departement_code,
                "revision": action.version,
            }
        )


READ_ATTRIBUTES = [
    name for name in ActionRead.model_fields if name not in ("territory", "region", "departement", "revision")
]


class ActionImportReport(BaseModel):
    """What a roadmap file import did."""

    rows: int = Field(description="The file's action rows", examples=[120])
    created: int = Field(description="New actions (audited `create`)", examples=[3])
    updated: int = Field(
        description="Actions whose row changed (audited `update`, a new revision)", examples=[2]
    )
    unchanged: int = Field(description="Rows equal to their action: nothing written", examples=[115])
    restored: int = Field(
        description="Archived actions the file lists again: restored (and updated)", examples=[0]
    )
