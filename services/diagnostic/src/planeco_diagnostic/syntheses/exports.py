"""The synthesis, the response rates and every answer of a campaign as CSV and XLSX tables (the
conventions of `planeco_shared.tabular`: units in headers, exact decimals, metadata lines). The answers
are streamed from the database (memory flat in their number)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from planeco_diagnostic.campaigns.models import Campaign, Invitee
from planeco_diagnostic.questionnaires.document import (
    ActionItem,
    MultipleChoiceItem,
    QuestionnaireDocument,
)
from planeco_diagnostic.responses.models import Response
from planeco_diagnostic.responses.schemas import CampaignStats, Mobilisation, Pertinence
from planeco_diagnostic.syntheses.schemas import NOT_ANSWERED, Distribution, Synthesis
from planeco_shared.tabular import Column, Kind, Metadata, Table, Value

LICENCE = "Licence Ouverte 2.0 (Etalab) pour une synthèse publiée ; sinon usage interne de la COP"
SOURCE = "planeco diagnostic"
ANSWERS_BATCH = 500
PERTINENCES = [*(p.value for p in Pertinence), NOT_ANSWERED]
MOBILISATIONS = [*(m.value for m in Mobilisation), NOT_ANSWERED]


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


SYNTHESIS_COLUMNS = [
    Column("scope", description="`lever` or `item`"),
    Column("key", description="The lever id or the item key"),
    Column("family", description="A lever's family (engages, a_accelerer, a_debattre); empty for an item"),
    Column("breakdown", description="`overall`, `type` or `departement`"),
    Column(
        "group", description="The collectivité type or the département code (empty: overall or the région)"
    ),
    Column("suppressed", description="`true`: fewer than 3 respondents (public form), figures empty"),
    Column("n", "answers", Kind.integer, "How many answers the row counts"),
    Column("respondents", "collectivités", Kind.integer, "How many collectivités gave them"),
    *(
        Column(f"pertinence_{p}", "answers", Kind.integer, f"Answers with pertinence {p}")
        for p in PERTINENCES
    ),
    *(
        Column(f"mobilisation_{m}", "answers", Kind.integer, f"Answers with mobilisation {m}")
        for m in MOBILISATIONS
    ),
    Column("relevant_share", "share", Kind.decimal, "pertinent / answers giving a pertinence, 4 places"),
    Column("engaged_share", "share", Kind.decimal, "(pertinent, realise or en_cours) / pertinent, 4 places"),
]


def _distribution_row(
    scope: str, key: str, family: str | None, breakdown: str, group: str | None, figures: Distribution
) -> list[Value]:
    pertinence = figures.pertinence or {}
    mobilisation = figures.mobilisation or {}
    return [
        scope,
        key,
        family,
        breakdown,
        group,
        "true" if figures.suppressed else "false",
        figures.n,
        figures.respondents,
        *(pertinence[p].count if p in pertinence else None for p in PERTINENCES),
        *(mobilisation[m].count if m in mobilisation else None for m in MOBILISATIONS),
        _decimal(figures.relevant_share),
        _decimal(figures.engaged_share),
    ]


def synthesis_table(view: Synthesis) -> Table:
    """One row per lever or item × breakdown group: counts per pertinence and per mobilisation."""
    rows: list[list[Value]] = []
    entries: list[tuple[str, str, str | None, Any]] = [
        ("lever", lever.lever_id, lever.family.value if lever.family else None, lever)
        for lever in view.levers
    ]
    entries += [("item", item.item_key, None, item) for item in view.items]
    for scope, key, family, entry in entries:
        rows.append(_distribution_row(scope, key, family, "overall", None, entry.overall))
        for typed in entry.by_type:
            rows.append(_distribution_row(scope, key, family, "type", typed.type.value, typed))
        for located in entry.by_departement:
            rows.append(_distribution_row(scope, key, family, "departement", located.departement, located))
    metadata = Metadata(
        title=f"Synthèse du diagnostic : {view.title}",
        source=SOURCE,
        version=f"campaign {view.campaign_id}",
        licence=LICENCE,
        extra=[
            ("counted", "réponses soumises uniquement"),
            ("form", "publique (chiffres sous 3 répondants masqués)" if view.public else "complète"),
            ("relevance_threshold", str(view.thresholds.relevance)),
            ("engagement_threshold", str(view.thresholds.engagement)),
        ],
        notes=(
            "Counts are exact; shares are count / n to 4 decimal places, rounded half to even.",
            "A lever counts every answer to its action items.",
        ),
    )
    return Table(metadata, SYNTHESIS_COLUMNS, rows)


STATS_COLUMNS = [
    Column("breakdown", description="`overall`, `type` or `departement`"),
    Column("group", description="The collectivité type or the département (empty: overall or the région)"),
    Column("invited", "collectivités", Kind.integer),
    Column("started", "collectivités", Kind.integer, "With a saved draft or submitted"),
    Column("submitted", "collectivités", Kind.integer),
    Column("started_rate", "share", Kind.decimal, "started / invited, 4 places, half to even"),
    Column("submitted_rate", "share", Kind.decimal, "submitted / invited, 4 places, half to even"),
]


def stats_table(view: CampaignStats) -> Table:
    def row(breakdown: str, group: str | None, counts: Any) -> list[Value]:
        return [
            breakdown,
            group,
            counts.invited,
            counts.started,
            counts.submitted,
            Decimal(counts.started_rate),
            Decimal(counts.submitted_rate),
        ]

    rows = [row("overall", None, view.overall)]
    rows += [row("type", t.type.value, t) for t in view.by_type]
    rows += [row("departement", d.departement, d) for d in view.by_departement]
    metadata = Metadata(
        title="Taux de réponse du diagnostic",
        source=SOURCE,
        version=f"campaign {view.campaign_id}",
        licence=LICENCE,
        notes=("Counted live; the parts of each breakdown add up to the overall counts.",),
    )
    return Table(metadata, STATS_COLUMNS, rows)


ANSWERS_COLUMNS = [
    Column("code", description="The collectivité: INSEE code; SIREN for an EPCI"),
    Column("name"),
    Column("type", description="region, departement, metropole, cu, ca, cc, commune"),
    Column("departement", description="Its département (empty: the région)"),
    Column("status", description="draft or submitted"),
    Column("section_key"),
    Column("item_key"),
    Column("item_label"),
    Column("kind", description="action, text, number, single_choice, multiple_choice"),
    Column("lever_ids", description="The item's levers, `|`-separated"),
    Column("pertinence"),
    Column("mobilisation"),
    Column("needs", description="`|`-separated"),
    Column("comment"),
    Column("quantity", "unit: see column unit", Kind.decimal, "As answered, in the item's unit"),
    Column("unit"),
    Column("lever_quantity", "the lever's unit", Kind.decimal, "quantity × the item's lever_unit_factor"),
    Column("value", description="A text, number or choice answer (choices `|`-separated)"),
]


def _answer_row(invitee: Invitee, status: str, section: str, item: Any, answer: Any) -> list[Value]:
    base: list[Value] = [
        invitee.code,
        invitee.name,
        invitee.type.value,
        invitee.departement,
        status,
        section,
        item.key,
        item.label,
        item.kind,
        "|".join(item.lever_ids or []),
    ]
    if isinstance(item, ActionItem):
        return [
            *base,
            answer.get("pertinence"),
            answer.get("mobilisation"),
            "|".join(answer.get("needs", [])),
            answer.get("comment") or None,
            _decimal(answer.get("quantity")),
            answer.get("unit"),
            _decimal(answer.get("lever_quantity")),
            None,
        ]
    value = "|".join(answer) if isinstance(item, MultipleChoiceItem) else str(answer)
    return [*base, None, None, None, None, None, None, None, value]


async def answers_rows(
    sessionmaker: async_sessionmaker[AsyncSession], campaign: Campaign, document: QuestionnaireDocument
) -> AsyncIterator[Sequence[Value]]:
    """Every answer of every response (drafts and submitted), one row per collectivité × item, in the
    order of the codes and of the questionnaire; read from the database in batches of responses."""
    order = [(section.key, item) for section in document.sections for item in section.items]
    last = ""
    async with sessionmaker() as session:
        while True:
            statement = (
                select(Invitee, Response.status, Response.answers)
                .join(Response, Response.invitee_id == Invitee.id)
                .where(Invitee.campaign_id == campaign.id, Invitee.code > last)
                .order_by(Invitee.code)
                .limit(ANSWERS_BATCH)
            )
            batch = (await session.execute(statement)).all()
            if not batch:
                return
            for invitee, status, answers in batch:
                for section, item in order:
                    if item.key in answers:
                        yield _answer_row(invitee, str(status.value), section, item, answers[item.key])
            last = batch[-1][0].code
            session.expunge_all()


def answers_metadata(campaign: Campaign) -> Metadata:
    return Metadata(
        title=f"Réponses du diagnostic : {campaign.title}",
        source=SOURCE,
        version=f"campaign {campaign.id}",
        licence="Réponses individuelles : usage interne de la COP, jamais publiées",
        notes=("Drafts included (column status); decimals exact as answered.",),
    )


def campaign_id_of(view: Any) -> uuid.UUID:
    return uuid.UUID(str(view.campaign_id))
