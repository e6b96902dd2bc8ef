"""The aids catalogue and its sync runs, as the API shows them."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from planeco_actions.aids.vocabulary import AidAudience
from planeco_actions.support.schemas import SupportMeasureRead
from planeco_shared.codes import COMMUNE_PATTERN, DEPARTEMENT_PATTERN, REGION_PATTERN, SIREN_PATTERN
from planeco_shared.jobs.models import JobOutcome, JobTrigger
from planeco_shared.jobs.schemas import JobRunError
from planeco_shared.pagination import Page
from planeco_shared.text import FreeText, NonBlankText


class AidSort(StrEnum):
    id = "id"
    name = "name"
    submission_deadline = "submission_deadline"
    date_updated = "date_updated"


LeverId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[^\s|]+$"),
    Field(description="A lever id of the levers service", examples=["augm_haies"]),
]


class AidCoverage(StrEnum):
    any = "any"
    whole = "whole"


TERRITORY_FILTERS = ("region", "departement", "epci", "commune")


class AidFilters(BaseModel):
    """The list's query parameters, passed whole to the service."""

    q: Annotated[
        FreeText | None,
        StringConstraints(strip_whitespace=True, max_length=200),
        Field(
            description="Words that must all appear in the name, texts, categories, financers or programs "
            "(case and accents ignored)",
            examples=["haie"],
        ),
    ] = None
    audience: Annotated[
        list[AidAudience] | None,
        Field(max_length=12, description="Only aids for one of these beneficiaries (repeat; slugs of "
              "Aides-territoires)"),
    ] = None  # fmt: skip
    open_on: Annotated[
        dt.date | None,
        Field(description="Only aids open that day (started, deadline not passed; no date: open)"),
    ] = None
    live: Annotated[
        bool,
        Field(
            description="true (default): the aids the last completed sync listed; false: those it no longer "
            "listed (expired, unpublished or deleted upstream)"
        ),
    ] = True
    lever_id: Annotated[
        list[LeverId] | None,
        Field(
            max_length=40, description="Only aids that serve one of these levers (repeat; the lever mapping)"
        ),
    ] = None
    region: Annotated[
        str | None,
        StringConstraints(pattern=REGION_PATTERN),
        Field(
            description="Only aids available to this région (INSEE code; see the operation)", examples=["24"]
        ),
    ] = None
    departement: Annotated[
        str | None,
        StringConstraints(pattern=DEPARTEMENT_PATTERN),
        Field(description="Only aids available to this département (INSEE code)", examples=["45"]),
    ] = None
    epci: Annotated[
        str | None,
        StringConstraints(pattern=SIREN_PATTERN),
        Field(description="Only aids available to this EPCI (SIREN)", examples=["244500468"]),
    ] = None
    commune: Annotated[
        str | None,
        StringConstraints(pattern=COMMUNE_PATTERN),
        Field(description="Only aids available to this commune (INSEE code)", examples=["45234"]),
    ] = None
    coverage: Annotated[
        AidCoverage,
        Field(
            description="With a territory: `any` (default), the aids that cover all or part of it; `whole`, "
            "only those whose perimeter contains all of it"
        ),
    ] = AidCoverage.any
    sort: Annotated[AidSort, Field(description="Sort key (then id)")] = AidSort.id
    descending: Annotated[bool, Field(description="Sort in descending order")] = False

    @model_validator(mode="after")
    def _one_territory(self) -> AidFilters:
        given = [name for name in TERRITORY_FILTERS if getattr(self, name) is not None]
        if len(given) > 1:
            raise ValueError(f"give one territory at most, not {' and '.join(given)}")
        return self

    def territory(self) -> tuple[str, str] | None:
        """(level, code) of the territory asked about, if any."""
        for name in TERRITORY_FILTERS:
            if (code := getattr(self, name)) is not None:
                return name, code
        return None


class AidRead(BaseModel):
    """An aid of the Aides-territoires catalogue (Licence Ouverte, source: Aides-territoires)."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="The Aides-territoires id", examples=[162936])
    name: str = Field(examples=["Rendre attrayante une mobilité sobre"])
    url: str | None = Field(description="The aid's page on Aides-territoires")
    financers: list[str] = Field(examples=[["Châteaux (Syndicat mixte)"]])
    categories: list[str] = Field(
        description="« Thème / Catégorie » labels, whole (theme names contain « / » themselves)",
        examples=[["Mobilité / transports / Mobilité partagée"]],
    )
    targeted_audiences: list[str] = Field(examples=[["Commune", "Intercommunalité / Pays"]])
    aid_types: list[str] = Field(examples=[["Subvention"]])
    perimeter: str | None = Field(description="The perimeter's name", examples=["PAYS DES CHÂTEAUX"])
    perimeter_scale: str | None = Field(examples=["Ad-hoc"])
    start_date: dt.date | None
    submission_deadline: dt.date | None = Field(description="Null: permanent, or no deadline")
    is_call_for_project: bool
    is_live: bool = Field(description="Listed by the last completed sync; false once it was not")
    date_updated: dt.datetime | None = Field(description="When Aides-territoires last changed it")
    synced_at: dt.datetime = Field(
        validation_alias="updated_at", description="When a sync last wrote it here"
    )
    lever_ids: list[str] = Field(
        description="The levers it serves, by the lever mapping (`/aids/lever-mapping`)",
        examples=[["augm_haies"]],
    )


class AidDetail(AidRead):
    slug: str
    name_initial: str | None = Field(description="The backer's own name for the aid")
    short_title: str | None
    instructors: list[str]
    programs: list[str]
    mobilization_steps: list[str]
    destinations: list[str]
    description_html: str | None = Field(description="The description, sanitised (a small set of tags)")
    description_text: str = Field(description="The description as plain text")
    eligibility_html: str | None = Field(description="Eligibility, sanitised HTML")
    origin_url: str | None
    application_url: str | None
    is_charged: bool
    predeposit_date: dt.date | None
    subvention_rate_lower_bound: int | None = Field(description="%")
    subvention_rate_upper_bound: int | None = Field(description="%", examples=[80])
    recurrence: str | None = Field(examples=["Récurrente"])
    european_aid: str | None
    date_created: dt.datetime | None
    delisted_at: dt.datetime | None = Field(description="When a completed sync no longer listed it")
    lever_rules: dict[str, list[str]] = Field(
        description="Why it serves each lever: lever id → the ids of the mapping's rules that gave it",
        examples=[{"augm_haies": ["biodiversite-haies"]}],
    )


class AidSyncRunRead(BaseModel):
    """One run of the Aides-territoires sync (the job `sync-aids`)."""

    id: uuid.UUID
    trigger: JobTrigger
    started_by: str = Field(description="Who started it: an API caller's subject, `cli:<user>`, `scheduler`…")
    started_at: dt.datetime
    finished_at: dt.datetime | None
    outcome: JobOutcome
    pages: int = Field(description="Pages of 100 read")
    inserted: int = Field(description="New aids")
    updated: int = Field(description="Aids changed upstream (or listed again)")
    unchanged: int = Field(description="Aids listed as they were: not written")
    expired: int = Field(description="Aids no longer listed, marked not live (after a completed scan only)")
    rejected: int = Field(description="Records that could not be read (in `errors`), not applied")
    counts: dict[str, int] = Field(description="Everything the run counted (retries, tokens…)")
    errors: list[JobRunError] = Field(description="Unreadable records and failures, the first 200")
    message: str | None


class LeverRule(BaseModel):
    """A rule of the lever mapping: aids of `category` (and, if given, whose text has one of `keywords`)
    serve `lever_ids`."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[
        str,
        StringConstraints(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9-]*$"),
        Field(description="The rule's id (lowercase, digits, dashes): what an aid's `lever_rules` cite"),
    ]
    category: Annotated[
        NonBlankText,
        StringConstraints(max_length=300),
        Field(
            description="An Aides-territoires « Thème / Catégorie » label, whole (case and accents aside)",
            examples=["Nature / environnement / Biodiversité"],
        ),
    ]
    keywords: Annotated[
        list[Annotated[NonBlankText, StringConstraints(max_length=100)]],
        Field(
            max_length=50,
            description="If any: the aid's text must contain one of them (case and accents aside). "
            "Optional; none means every aid of the category.",
            examples=[["haie", "bocage"]],
        ),
    ] = Field(default_factory=list)
    lever_ids: Annotated[list[LeverId], Field(min_length=1, max_length=40, examples=[["augm_haies"]])]


class LeverMappingUpdate(BaseModel):
    """The whole mapping, replacing the current one."""

    model_config = ConfigDict(extra="forbid")

    rules: Annotated[list[LeverRule], Field(max_length=1000)]

    @model_validator(mode="after")
    def _unique_ids(self) -> LeverMappingUpdate:
        ids = [rule.id for rule in self.rules]
        if len(set(ids)) != len(ids):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"rule ids must be unique: {', '.join(twice)} given more than once")
        return self


class LeverMappingRead(BaseModel):
    """Aides-territoires categories (and keywords) → levers, applied to the catalogue."""

    source: str = Field(description="`default` (the shipped file) or `edited` (saved by an administrator)")
    revision: int = Field(description="0 for the shipped default; its ETag carries it")
    updated_at: dt.datetime | None
    updated_by: str | None
    panorama_version: str | None = Field(
        description="The panorama whose mainland levers the shipped default covers", examples=["2024-07-24"]
    )
    rules: list[LeverRule]


class AidFunding(AidRead):
    """An aid suggested to fund an action."""

    coverage: AidCoverage = Field(
        description="`whole`: its perimeter contains the action's whole territory; `any`: part of it"
    )
    matched_lever_ids: list[str] = Field(
        description="The action's levers it serves", examples=[["augm_haies"]]
    )
    matched_audiences: list[AidAudience] = Field(
        description="The carriers' types it targets (when their names say them)", examples=[["commune"]]
    )


class ActionFunding(Page[AidFunding]):
    """What may fund an action: a page of the aids that fit it, and the support measures of its levers."""

    support_measures: list[SupportMeasureRead] = Field(
        description="The support measures in force for the action's levers, from the nation's catalogue and "
        "those of the région and département its territory lies in (all of them: not paginated)"
    )
