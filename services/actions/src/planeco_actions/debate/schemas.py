"""The debate's bodies and reads: working groups."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from planeco_actions.actions.models import ActionStatus
from planeco_actions.actions.schemas import (
    Date,
    Document,
    LeverId,
    Name,
    Role,
    TerritoryRead,
    TerritoryRef,
    Title,
)
from planeco_actions.debate.models import ProposalStatus, WorkingGroupStatus
from planeco_shared.owners import OWNER_QUERY_PATTERN, Owner
from planeco_shared.patch import OMITTED, PatchBody
from planeco_shared.text import FreeText, NonBlankText

GroupName = Annotated[
    NonBlankText,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=300),
    Field(examples=["Groupe de travail « Se déplacer » du Loiret"]),
]
Theme = Annotated[
    NonBlankText,
    StringConstraints(strip_whitespace=True, min_length=2, max_length=200),
    Field(examples=["mobilité"]),
]
Description = Annotated[FreeText, StringConstraints(max_length=20_000)]


class MemberKind(StrEnum):
    personne = "personne"  # a person, by name (and organisation)
    collectivite = "collectivite"  # a collectivité, by its territory


class Member(BaseModel):
    """A member of a working group: a person (`kind: personne`, `name`, optional `organisation`), or a
    collectivité by its territory (`kind: collectivite`, `territory`); with a role in the group."""

    model_config = ConfigDict(extra="forbid")

    kind: MemberKind
    name: Name | None = Field(default=None, description="A person's name; a collectivité's is its own")
    organisation: Name | None = Field(default=None, description="A person's organisation, if any")
    territory: TerritoryRef | None = Field(default=None, description="For a collectivité only")
    role: Role = Field(default="", description="Its role (animateur, rapporteur…); empty when omitted")

    @model_validator(mode="after")
    def _one_identity(self) -> Self:
        if self.kind is MemberKind.collectivite:
            if self.territory is None or self.name is not None or self.organisation is not None:
                raise ValueError("a collectivité is named by its territory (level, code), not by a name")
        elif self.name is None or self.territory is not None:
            raise ValueError("a person is named by its name (and organisation), not by a territory")
        return self


class MemberRead(BaseModel):
    kind: MemberKind
    name: str
    organisation: str | None
    territory: TerritoryRead | None
    role: str


class WorkingGroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner: Owner = Field(description="The région or département whose debate the group belongs to")
    name: GroupName
    theme: Theme
    description: Description = Field(default="", description="Empty when omitted")
    lever_ids: list[LeverId] = Field(
        default_factory=list, max_length=50, description="The levers it works on; none when omitted"
    )
    members: list[Member] = Field(default_factory=list, max_length=500, description="None when omitted")
    status: WorkingGroupStatus = Field(default=WorkingGroupStatus.actif, description="`actif` when omitted")


class WorkingGroupUpdate(PatchBody):
    """Omitted fields are kept. The owner is not changed by a PATCH."""

    name: GroupName = OMITTED
    theme: Theme = OMITTED
    description: Description = OMITTED
    lever_ids: list[LeverId] = Field(default=OMITTED, max_length=50)
    members: list[Member] = Field(default=OMITTED, max_length=500)
    status: WorkingGroupStatus = OMITTED


class WorkingGroupRead(BaseModel):
    id: uuid.UUID
    owner: Owner
    region: str = Field(description="The région the owner lies in")
    name: str
    theme: str
    description: str
    lever_ids: list[str]
    members: list[MemberRead]
    status: WorkingGroupStatus
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    archived_at: dt.datetime | None
    revision: int = Field(description="Incremented by each change; the ETag carries it")

    @classmethod
    def of(cls, group: Any) -> WorkingGroupRead:
        return cls.model_validate(
            {
                "id": group.id,
                "owner": {"level": group.owner_level.value, "code": group.owner_code},
                "region": group.owner_region,
                "name": group.name,
                "theme": group.theme,
                "description": group.description,
                "lever_ids": group.lever_ids,
                "members": group.members,
                "status": group.status,
                "created_by": group.created_by,
                "created_at": group.created_at,
                "updated_at": group.updated_at,
                "archived_at": group.archived_at,
                "revision": group.version,
            }
        )


class WorkingGroupSort(StrEnum):
    name = "name"
    theme = "theme"
    created_at = "created_at"


class WorkingGroupFilters(BaseModel):
    """The list's query parameters, passed whole to the service."""

    owner: Annotated[
        str | None,
        Field(
            pattern=OWNER_QUERY_PATTERN.replace("nation|", ""),
            description="Only this owner's groups: `region:24` or `departement:45`",
        ),
    ] = None
    region: Annotated[
        str | None,
        Field(pattern=r"^\d{2}$", description="Only the groups of this région and its départements"),
    ] = None
    lever_id: Annotated[
        list[LeverId] | None, Field(max_length=50, description="Only groups working on these levers (repeat)")
    ] = None
    status: Annotated[
        list[WorkingGroupStatus] | None, Field(max_length=3, description="Only groups in these statuses")
    ] = None
    sort: WorkingGroupSort = Field(default=WorkingGroupSort.created_at, description="`created_at` by default")
    descending: bool = Field(default=False, description="false by default")


Place = Annotated[
    FreeText,
    StringConstraints(strip_whitespace=True, max_length=300),
    Field(examples=["Hôtel de région, Orléans"]),
]
MeetingTitle = Annotated[
    FreeText,
    StringConstraints(strip_whitespace=True, max_length=300),
    Field(examples=["Deuxième séance : le vélo au quotidien"]),
]
Synthesis = Annotated[
    FreeText,
    StringConstraints(max_length=32_000),
    Field(
        description="The meeting's synthesis (compte rendu), in French: up to 32,000 characters, what a "
        "spreadsheet cell holds, so that the XLSX export keeps it whole",
        examples=["Les participants ont retenu trois pistes : …"],
    ),
]


class MeetingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: Date
    place: Place = Field(default="", description="Empty when omitted")
    title: MeetingTitle = Field(default="", description="Empty when omitted")
    synthesis: Synthesis = Field(default="", description="Empty when omitted (written after the meeting)")
    documents: list[Document] = Field(
        default_factory=list, max_length=100, description="Links to its documents; none when omitted"
    )


class MeetingUpdate(PatchBody):
    """Omitted fields are kept; `documents` is replaced whole."""

    date: Date = OMITTED
    place: Place = OMITTED
    title: MeetingTitle = OMITTED
    synthesis: Synthesis = OMITTED
    documents: list[Document] = Field(default=OMITTED, max_length=100)


class MeetingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    group_id: uuid.UUID
    date: dt.date
    place: str
    title: str
    synthesis: str
    documents: list[Document]
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    archived_at: dt.datetime | None
    revision: int = Field(description="Incremented by each change; the ETag carries it")

    @classmethod
    def of(cls, meeting: Any) -> MeetingRead:
        return cls.model_validate(
            {name: getattr(meeting, name) for name in cls.model_fields if name != "revision"}
            | {"revision": meeting.version}
        )


class ProposalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description = Field(default="", description="Empty when omitted")
    lever_ids: list[LeverId] = Field(min_length=1, max_length=20, description="The levers it serves")
    meeting_id: uuid.UUID | None = Field(default=None, description="The group's meeting it came from")
    proposer: Member | None = Field(default=None, description="Who proposed it: a person or a collectivité")
    status: ProposalStatus = Field(
        default=ProposalStatus.ouverte, description="`ouverte` when omitted; never `promue` (promote it)"
    )


class ProposalUpdate(PatchBody):
    """Omitted fields are kept; `null` clears the meeting and the proposer. `promue` is set only by the
    promotion, and a promoted proposal keeps it."""

    title: Title = OMITTED
    description: Description = OMITTED
    lever_ids: list[LeverId] = Field(default=OMITTED, min_length=1, max_length=20)
    meeting_id: uuid.UUID | None = None
    proposer: Member | None = None
    status: ProposalStatus = OMITTED


class ProposalRead(BaseModel):
    id: uuid.UUID
    group_id: uuid.UUID
    meeting_id: uuid.UUID | None
    title: str
    description: str
    lever_ids: list[str]
    proposer: MemberRead | None
    status: ProposalStatus
    action_id: uuid.UUID | None = Field(description="The COP action it was promoted to; null until then")
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    archived_at: dt.datetime | None
    revision: int = Field(description="Incremented by each change; the ETag carries it")

    @classmethod
    def of(cls, proposal: Any) -> ProposalRead:
        return cls.model_validate(
            {name: getattr(proposal, name) for name in cls.model_fields if name != "revision"}
            | {"revision": proposal.version}
        )


class ProposalFilters(BaseModel):
    lever_id: Annotated[
        list[LeverId] | None, Field(max_length=50, description="Only proposals for these levers (repeat)")
    ] = None
    status: Annotated[
        list[ProposalStatus] | None, Field(max_length=4, description="Only proposals in these statuses")
    ] = None
    meeting_id: Annotated[uuid.UUID | None, Field(description="Only the proposals of this meeting")] = None


class Promotion(BaseModel):
    """The COP action a proposal becomes: its title, description and levers (the first the main one)."""

    model_config = ConfigDict(extra="forbid")

    status: Annotated[ActionStatus, Field(description="`proposee` (when omitted) or `retenue`")] = (
        ActionStatus.proposee
    )
    territory: TerritoryRef | None = Field(
        default=None,
        description="Where the action is; the group's owner (région or département) when omitted",
    )

    @model_validator(mode="after")
    def _proposed_or_chosen(self) -> Self:
        if self.status not in (ActionStatus.proposee, ActionStatus.retenue):
            raise ValueError("a promoted action starts `proposee` or `retenue`")
        return self


def owner_key(text: str) -> tuple[str, str]:
    """`region:24` → ("region", "24") (`text` matched the filter's pattern)."""
    level, _, code = text.partition(":")
    assert re.match(r"^(region|departement)$", level)
    return level, code
