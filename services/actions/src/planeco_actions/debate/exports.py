"""The debate's deliverable as files: a working group's syntheses (its meetings) and its proposals, as
tables for `planeco_shared.tabular` (CSV, XLSX), with their licence and source."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from planeco_actions.debate.schemas import MeetingRead, ProposalRead, WorkingGroupRead
from planeco_shared.pagination import Page
from planeco_shared.tabular import Column, Metadata, Table

LICENCE = (
    "Licence Ouverte / Open Licence 2.0 (Etalab). Attribution: « Source : COP régionale, débat — "
    "{owner}, groupe de travail {name} (planeco) »."
)
SOURCE = (
    "planeco actions service: the debate of the COP of {owner} (working group {group_id}, revision "
    "{revision}), as its coordinators recorded it"
)


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class GroupFile(Generic[T]):
    """What an export shows: the group and the page of its meetings or proposals the JSON read answers."""

    group: WorkingGroupRead
    page: Page[T]


def _owner(group: WorkingGroupRead) -> str:
    level = "région" if group.owner.level == "region" else "département"
    return f"{level} {group.owner.code}"


def _metadata(group: WorkingGroupRead, what: str, page: Page[Any]) -> Metadata:
    owner = _owner(group)
    return Metadata(
        title=f"{what} — {group.name} ({owner})",
        source=SOURCE.format(owner=owner, group_id=group.id, revision=group.revision),
        version=f"revision {group.revision}",
        licence=LICENCE.format(owner=owner, name=group.name),
        extra=[
            ("working_group", f"{group.id} {group.name}"),
            ("theme", group.theme),
            ("owner", f"{group.owner.level}:{group.owner.code}"),
            ("levers", ", ".join(group.lever_ids)),
            ("page", f"{page.page} ({len(page.items)} of {page.total}; page_size {page.page_size})"),
        ],
        notes=["One page of the JSON read, as its page and page_size say (page_size up to 500)."],
    )


MEETING_COLUMNS = [
    Column("meeting_id"),
    Column("date", description="The meeting's date (ISO 8601)"),
    Column("title"),
    Column("place"),
    Column("synthesis", description="The synthesis (compte rendu), whole"),
    Column("documents", description="Its documents: « title <url> », separated by newlines"),
]
PROPOSAL_COLUMNS = [
    Column("proposal_id"),
    Column("title"),
    Column("description"),
    Column("lever_ids", description="The levers it serves, separated by `|`"),
    Column("status", description="ouverte, retenue, ecartee or promue"),
    Column("proposer", description="Who proposed it: a person (and organisation) or a collectivité"),
    Column("meeting_id", description="The meeting it came from, if any"),
    Column("action_id", description="The COP action it was promoted to, if any"),
]


def meetings_table(view: GroupFile[MeetingRead]) -> Table:
    return Table.from_records(
        _metadata(view.group, "Synthèses des réunions", view.page),
        MEETING_COLUMNS,
        (
            {
                "meeting_id": str(meeting.id),
                "date": meeting.date.isoformat(),
                "title": meeting.title,
                "place": meeting.place,
                "synthesis": meeting.synthesis,
                "documents": "\n".join(f"{doc.title} <{doc.url}>" for doc in meeting.documents),
            }
            for meeting in view.page.items
        ),
    )


def _proposer(proposal: ProposalRead) -> str | None:
    proposer = proposal.proposer
    if proposer is None:
        return None
    if proposer.territory is not None:
        return f"{proposer.name} ({proposer.territory.level.value} {proposer.territory.code})"
    return f"{proposer.name} ({proposer.organisation})" if proposer.organisation else proposer.name


def proposals_table(view: GroupFile[ProposalRead]) -> Table:
    return Table.from_records(
        _metadata(view.group, "Propositions", view.page),
        PROPOSAL_COLUMNS,
        (
            {
                "proposal_id": str(proposal.id),
                "title": proposal.title,
                "description": proposal.description,
                "lever_ids": "|".join(proposal.lever_ids),
                "status": proposal.status.value,
                "proposer": _proposer(proposal),
                "meeting_id": str(proposal.meeting_id) if proposal.meeting_id else None,
                "action_id": str(proposal.action_id) if proposal.action_id else None,
            }
            for proposal in view.page.items
        ),
    )


def filename(view: GroupFile[Any], what: str) -> str:
    return f"planeco-debat-{view.group.owner.level}-{view.group.owner.code}-groupe-{view.group.id}-{what}"
