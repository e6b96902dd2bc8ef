"""The synthesis of a campaign: what its **submitted** responses say (drafts are never counted), lever by
lever and action item by action item, overall, by collectivité type and by département, from the answers
in rows (`response_answers`, SQL GROUP BYs).

Figures. Every distribution gives `n` (the answers it counts) and `respondents` (the collectivités that
gave them); counts are exact and the parts of a breakdown add up to `overall`; shares are count / n as
decimal strings to 4 places, rounded half to even. A lever counts every answer to its action items (an
item with several levers counts for each).

Families (per lever, on its overall distribution, thresholds `relevance` and `engagement`, default 0.5,
query parameters `relevance_threshold` and `engagement_threshold`):
- no answer gives a pertinence → null;
- pertinent / (answers giving a pertinence) < relevance, or no pertinent answer → `a_debattre`;
- else (pertinent and realise or en_cours) / pertinent ≥ engagement → `engages`;
- else → `a_accelerer`.
Comparisons are exact (fractions, no rounding): a share exactly at a threshold meets it.

The public form (published synthesis) is made of whole cells: the answers to an item by the
collectivités of one type in one département (the région's own answers are a cell too). A cell of fewer
than 3 answers (one per respondent) is left out of every public figure, and counted in the item's
`withheld`; a figure then rests on no answer or on 3 respondents or more, and so does any difference
of two figures (a lever minus its other items, an overall minus the shown groups, a type minus a
département), so that no collectivité's answers can be read out of a breakdown. A group or figure with no
kept answer is suppressed (null, `suppressed: true`, the reason).
"""

from __future__ import annotations

import functools
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.campaigns.models import Campaign, InviteeType
from planeco_diagnostic.campaigns.repository import CampaignRepository
from planeco_diagnostic.db import AuditEntry
from planeco_diagnostic.invitations import service as invitations
from planeco_diagnostic.questionnaires.document import ActionItem, QuestionnaireDocument
from planeco_diagnostic.questionnaires.service import campaign_document
from planeco_diagnostic.responses.schemas import Mobilisation, Need, Pertinence
from planeco_diagnostic.syntheses.models import SynthesisPublication
from planeco_diagnostic.syntheses.repository import (
    MINIMUM_RESPONDENTS,
    AnswerRowRepository,
    ItemCount,
    item_levers,
)
from planeco_diagnostic.syntheses.schemas import (
    NOT_ANSWERED,
    SUPPRESSED_REASON,
    Family,
    Publication,
    Synthesis,
    Thresholds,
)
from planeco_shared import audit
from planeco_shared.identity import Principal, Role
from planeco_shared.models import utcnow
from planeco_shared.problems import NotFound
from planeco_shared.scopes import may_act_on

ENTITY = "synthesis"
SHARE = Decimal("0.0001")
DEFAULT_THRESHOLD = Decimal("0.5")
ENGAGED = frozenset({Mobilisation.realise.value, Mobilisation.en_cours.value})
PERTINENCES = [*(p.value for p in Pertinence), NOT_ANSWERED]
MOBILISATIONS = [*(m.value for m in Mobilisation), NOT_ANSWERED]
TOP_STRENGTHS, TOP_LEVERS = 5, 3
PERTINENT = Pertinence.pertinent.value
CELLS = [(p, m) for p in PERTINENCES for m in MOBILISATIONS]  # the order of a distribution's cells
NEED_VALUES = [need.value for need in Need]
NO_COUNTS: Counts = {}  # a group with no answers (never written to)
TYPE_ORDER = [t.value for t in InviteeType]  # the order of a `by_type` breakdown

Pair = tuple[str, str]  # (pertinence, mobilisation)
Counts = Mapping[Pair, int]  # answers per (pertinence, mobilisation)


@functools.lru_cache(maxsize=65536)
def share(part: int, whole: int) -> str | None:
    """part / whole to 4 places, half to even, exactly (integer arithmetic; the same as Decimal's
    ROUND_HALF_EVEN quantize), or None for an empty whole. Cached: a synthesis asks for the same few
    thousand fractions tens of thousands of times."""
    if not whole:
        return None
    quotient, remainder = divmod(part * 10_000, whole)
    if 2 * remainder > whole or (2 * remainder == whole and quotient % 2):
        quotient += 1
    return f"{quotient // 10_000}.{quotient % 10_000:04d}"


def _share(part: int, whole: int) -> str:
    return share(part, whole) or "0.0000"


def _pair(pertinence: str | None, mobilisation: str | None) -> Pair:
    return (pertinence or NOT_ANSWERED, mobilisation or NOT_ANSWERED)


def family(counts: Counts, thresholds: Thresholds) -> Family | None:
    """The lever's family by the documented rule (exact comparisons)."""
    given = sum(c for (p, _), c in counts.items() if p != NOT_ANSWERED)
    if not given:
        return None
    pertinent = sum(c for (p, _), c in counts.items() if p == Pertinence.pertinent)
    if not pertinent or Decimal(pertinent) < Decimal(thresholds.relevance) * given:
        return Family.a_debattre
    engaged = sum(c for (p, m), c in counts.items() if p == Pertinence.pertinent and m in ENGAGED)
    return (
        Family.engages
        if Decimal(engaged) >= Decimal(thresholds.engagement) * pertinent
        else Family.a_accelerer
    )


def _needs(needs: list[int], n: int) -> list[dict[str, Any]]:
    ranked = sorted(
        ((need, count) for need, count in zip(NEED_VALUES, needs, strict=True) if count),
        key=lambda pair: -pair[1],
    )
    return [{"need": need, "count": count, "share": _share(count, n)} for need, count in ranked]


SUPPRESSED: dict[str, Any] = {
    "n": None,
    "respondents": None,
    "suppressed": True,
    "reason": SUPPRESSED_REASON,
    "pertinence": None,
    "mobilisation": None,
    "cells": None,
    "relevant_share": None,
    "engaged_share": None,
    "needs": None,
}


def distribution(
    counts: Counts,
    respondents: int,
    *,
    suppressed: bool = False,
    needs: list[int] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A `Distribution` (or its `TypeDistribution` / `DepartementDistribution` form with `extra`), as
    the JSON-ready dict the response is made of: thousands of them per synthesis, built without the
    models' validation (`build` validates the whole once where a model is wanted)."""
    if suppressed:
        return SUPPRESSED | extra
    n = sum(counts.values())
    # Plain dicts and `get`: a Counter's missing key is a Python call (__missing__), thousands per read.
    by_pertinence = dict.fromkeys(PERTINENCES, 0)
    by_mobilisation = dict.fromkeys(MOBILISATIONS, 0)
    engaged = 0
    for (p, m), c in counts.items():
        by_pertinence[p] += c
        by_mobilisation[m] += c
        if p == PERTINENT and m in ENGAGED:
            engaged += c
    given = n - by_pertinence[NOT_ANSWERED]
    pertinent = by_pertinence[PERTINENT]
    return {
        "n": n,
        "respondents": respondents,
        "suppressed": False,
        "reason": None,
        "pertinence": {p: {"count": c, "share": _share(c, n)} for p, c in by_pertinence.items()},
        "mobilisation": {m: {"count": c, "share": _share(c, n)} for m, c in by_mobilisation.items()},
        "cells": [
            {"pertinence": p, "mobilisation": m, "count": cell, "share": _share(cell, n)}
            for p, m in CELLS
            if (cell := counts.get((p, m)))
        ],
        "relevant_share": share(pertinent, given),
        "engaged_share": share(engaged, pertinent),
        "needs": _needs(needs, n) if needs is not None else None,
    } | extra


Cell3 = tuple[str, str, str | None]  # (item, respondent type, département)


def publishable_cells(rows: Iterable[ItemCount]) -> tuple[set[Cell3], Counter[str]]:
    """The public form's cells (item × respondent type × département with 3 answers or more: one per
    respondent), and per item the answers left out. Every public figure is a sum of whole kept cells,
    so that no difference of two figures (a lever minus its other items, an overall minus the shown
    groups, a type minus a département) can isolate fewer than 3 collectivités."""
    answers: Counter[Cell3] = Counter()
    for key, type_, departement, _, _, n, _ in rows:
        answers[(key, type_, departement)] += n
    kept = {cell for cell, n in answers.items() if n >= MINIMUM_RESPONDENTS}
    withheld: Counter[str] = Counter()
    for cell, n in answers.items():
        if cell not in kept:
            withheld[cell[0]] += n
    return kept, withheld


def _sum(counters: Iterable[Counts]) -> Counts:
    total: defaultdict[Pair, int] = defaultdict(int)
    for counts in counters:
        for pair, n in counts.items():
            total[pair] += n
    return total


def _departement_order(code: str | None) -> tuple[bool, str]:
    return (code is None, code or "")


def is_manager(principal: Principal, campaign: Campaign) -> bool:
    """Admins and the coordinators of the campaign's owner (the full, unsuppressed synthesis)."""
    if principal.role is Role.admin:
        return True
    return principal.role is Role.coordinator and may_act_on(principal, invitations.owner_territory(campaign))


async def located(session: AsyncSession, campaign_id: uuid.UUID, regions: frozenset[str] | None) -> Campaign:
    campaign = await CampaignRepository(session).get(campaign_id)
    if campaign is None or (regions is not None and campaign.owner_region not in regions):
        raise NotFound(f"No campaign {campaign_id}")
    return campaign


async def managed(
    session: AsyncSession, campaign_id: uuid.UUID, *, principal: Principal, regions: frozenset[str] | None
) -> Campaign:
    """The campaign, for its managers; 404 for anyone else (it is not theirs to see)."""
    campaign = await located(session, campaign_id, regions)
    if not is_manager(principal, campaign):
        raise NotFound(f"No campaign {campaign_id}")
    return campaign


@dataclass(frozen=True, slots=True)
class Counted:
    """What a synthesis reads of the answers (SQL); `assemble` makes the synthesis of it alone."""

    items: list[ItemCount]
    lever_respondents: list[tuple[str, str, str | None, int]]  # (lever, type, département, n)
    respondents: list[tuple[str, str | None, int]]  # (type, département, n)


async def counted(session: AsyncSession, campaign_id: uuid.UUID, *, public: bool) -> Counted:
    repository = AnswerRowRepository(session)
    await repository.for_aggregates()
    return Counted(
        items=await repository.item_counts(campaign_id),
        lever_respondents=await repository.lever_respondents(campaign_id, publishable=public),
        respondents=await repository.respondents(campaign_id, publishable=public),
    )


async def figures(
    session: AsyncSession,
    campaign: Campaign,
    thresholds: Thresholds,
    *,
    public: bool,
    publication: SynthesisPublication | None,
) -> dict[str, Any]:
    """The synthesis as the JSON-ready dict of a `Synthesis` (the response is made of it directly)."""
    document = await campaign_document(session, campaign.questionnaire_id)
    answers = await counted(session, campaign.id, public=public)
    return assemble(campaign, document, answers, thresholds, public=public, publication=publication)


# group (respondent type or département) → its answers; defaultdicts of int, whose missing keys cost no
# Python call (a Counter's __missing__ does), tens of thousands of times per synthesis
Groups = defaultdict[Any, defaultdict[Pair, int]]


def _groups() -> Groups:
    return defaultdict(functools.partial(defaultdict, int))


def assemble(
    campaign: Campaign,
    document: QuestionnaireDocument,
    answers: Counted,
    thresholds: Thresholds,
    *,
    public: bool,
    publication: SynthesisPublication | None,
) -> dict[str, Any]:
    """The synthesis of the counted answers. Each count row is added once to its item's groups and to
    each of its levers' (a lever's figures are the sums of its items'), in one pass."""
    levers_of = item_levers(document)
    labels = {
        i.key: (i.label, s.key) for s in document.sections for i in s.items if isinstance(i, ActionItem)
    }
    lever_items: dict[str, list[str]] = {}
    for key, lever_ids in levers_of.items():
        for lever in lever_ids:
            lever_items.setdefault(lever, []).append(key)
    no_needs = [0] * len(NEED_VALUES)
    item_types = {key: _groups() for key in levers_of}
    item_departements = {key: _groups() for key in levers_of}
    lever_types = {lever: _groups() for lever in lever_items}
    lever_departements = {lever: _groups() for lever in lever_items}
    rows = answers.items
    kept, withheld = publishable_cells(rows) if public else (None, Counter[str]())
    needs_of: dict[str, list[int]] = {}
    for key, type_, departement, p, m, n, named in rows:
        if key not in levers_of:
            continue
        types, departements = item_types[key], item_departements[key]
        # an item listed twice under a lever counts twice, as the lever's item_keys say
        its_levers = [(lever_types[lever], lever_departements[lever]) for lever in levers_of[key]]
        if kept is not None and (key, type_, departement) not in kept:
            types[type_]  # the group is listed (suppressed), its answers left out
            departements[departement]
            for lever_type_groups, lever_departement_groups in its_levers:
                lever_type_groups[type_]
                lever_departement_groups[departement]
            continue
        pair = _pair(p, m)
        types[type_][pair] += n
        departements[departement][pair] += n
        for lever_type_groups, lever_departement_groups in its_levers:
            lever_type_groups[type_][pair] += n
            lever_departement_groups[departement][pair] += n
        if any(named):
            total = needs_of.setdefault(key, [0] * len(NEED_VALUES))
            for index, count in enumerate(named):
                total[index] += count
    lever_type: dict[str, Counter[str]] = {}
    lever_departement: dict[str, Counter[str | None]] = {}
    for lever, type_, departement, n in answers.lever_respondents:
        lever_type.setdefault(lever, Counter())[type_] += n
        lever_departement.setdefault(lever, Counter())[departement] += n
    type_respondents: Counter[str] = Counter()
    departement_respondents: Counter[str | None] = Counter()
    for type_, departement, n in answers.respondents:
        type_respondents[type_] += n
        departement_respondents[departement] += n
    total_respondents = sum(type_respondents.values())
    # Every département with respondents is listed (those of all counted answers, kept or not); in the
    # public form, suppressed when none of its answers is kept.
    summarised = set(departement_respondents) | {row[2] for row in rows}

    def breakdowns(
        types: Mapping[str, Counts],
        departements: Mapping[str | None, Counts],
        type_counts: dict[str, int],
        departement_counts: dict[str | None, int],
    ) -> dict[str, list[dict[str, Any]]]:
        return {
            "by_type": [
                distribution(
                    types[t],
                    type_counts.get(t, 0),
                    suppressed=public and type_counts.get(t, 0) < MINIMUM_RESPONDENTS,
                    type=t,
                )
                for t in TYPE_ORDER
                if t in types
            ],
            "by_departement": [
                distribution(
                    departements[d],
                    departement_counts.get(d, 0),
                    suppressed=public and departement_counts.get(d, 0) < MINIMUM_RESPONDENTS,
                    departement=d,
                )
                for d in sorted(departements, key=_departement_order)
            ],
        }

    items: list[dict[str, Any]] = []
    item_overall: dict[str, Counts] = {}
    for key, lever_ids in levers_of.items():
        types, departements = item_types[key], item_departements[key]
        overall = _sum(types.values())
        item_overall[key] = overall
        n = sum(overall.values())
        items.append(
            {
                "item_key": key,
                "label": labels[key][0],
                "section_key": labels[key][1],
                "lever_ids": lever_ids,
                "withheld": withheld[key] if public else None,
                "overall": distribution(
                    overall,
                    n,
                    suppressed=public and n < MINIMUM_RESPONDENTS,
                    needs=needs_of.get(key, no_needs),
                ),
            }
            | breakdowns(
                types,
                departements,
                {t: sum(c.values()) for t, c in types.items()},  # one answer per respondent and item
                {d: sum(c.values()) for d, c in departements.items()},
            )
        )
    levers: list[dict[str, Any]] = []
    for lever, keys in lever_items.items():
        types, departements = lever_types[lever], lever_departements[lever]
        overall = _sum(types.values())
        respondents = sum(lever_type.get(lever, Counter()).values())
        needs = [sum(x) for x in zip(*(needs_of.get(k, no_needs) for k in keys), strict=True)]
        hidden = public and respondents < MINIMUM_RESPONDENTS
        lever_family = None if hidden else family(overall, thresholds)
        levers.append(
            {
                "lever_id": lever,
                "item_keys": keys,
                "family": lever_family.value if lever_family is not None else None,
                "overall": distribution(overall, respondents, suppressed=hidden, needs=needs),
            }
            | breakdowns(
                types, departements, dict(lever_type.get(lever, {})), dict(lever_departement.get(lever, {}))
            )
        )
    all_needs = [sum(x) for x in zip(*(needs_of.get(k, no_needs) for k in levers_of), strict=True)]
    departement_summaries: list[dict[str, Any]] = []
    for departement in sorted(summarised, key=_departement_order):
        respondents = departement_respondents[departement]
        if public and respondents < MINIMUM_RESPONDENTS:
            departement_summaries.append(
                {
                    "departement": departement,
                    "respondents": None,
                    "suppressed": True,
                    "reason": SUPPRESSED_REASON,
                    "strengths": None,
                    "main_levers": None,
                }
            )
            continue
        strengths: list[dict[str, Any]] = []
        for key in levers_of:
            if strength := _engaged(item_departements[key].get(departement, NO_COUNTS)):
                strengths.append({"item_key": key, "label": labels[key][0], **strength})
        strengths.sort(key=lambda strength: -strength["count"])
        main: list[dict[str, Any]] = []
        for lever in lever_items:
            if strength := _engaged(lever_departements[lever].get(departement, NO_COUNTS)):
                main.append({"lever_id": lever, **strength})
        main.sort(key=lambda lever: -lever["count"])
        departement_summaries.append(
            {
                "departement": departement,
                "respondents": respondents,
                "suppressed": False,
                "reason": None,
                "strengths": strengths[:TOP_STRENGTHS],
                "main_levers": main[:TOP_LEVERS],
            }
        )
    return {
        "campaign_id": str(campaign.id),
        "title": campaign.title,
        "counted": "submitted",
        "respondents": total_respondents,
        "public": public,
        "published_at": publication.published_at if publication is not None else None,
        "thresholds": thresholds.model_dump(),
        "withheld": sum(withheld.values()) if public else None,
        "overall": distribution(
            _sum(item_overall.values()),
            total_respondents,
            suppressed=public and total_respondents < MINIMUM_RESPONDENTS,
            needs=all_needs if levers_of else no_needs,
        ),
        "levers": levers,
        "items": items,
        "departements": departement_summaries,
    }


def _engaged(counts: Counts) -> dict[str, Any] | None:
    """`count` (answers realise or en_cours) and its `share` of the group's answers; None for none."""
    done = sum(c for (_, m), c in counts.items() if m in ENGAGED)
    return {"count": done, "share": _share(done, sum(counts.values()))} if done else None


def figures_json(synthesis: dict[str, Any]) -> bytes:
    """The response body of `figures`: what `Synthesis.model_dump_json` gives for the same synthesis."""
    return orjson.dumps(synthesis, option=orjson.OPT_UTC_Z)


async def build(
    session: AsyncSession,
    campaign: Campaign,
    thresholds: Thresholds,
    *,
    public: bool,
    publication: SynthesisPublication | None,
) -> Synthesis:
    """The synthesis as the model (its exports and the comparison read it), validated once, whole."""
    built = await figures(session, campaign, thresholds, public=public, publication=publication)
    return Synthesis.model_validate(built)


async def synthesis_view(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
) -> tuple[Campaign, SynthesisPublication | None, bool]:
    """(campaign, publication, public form?): managers read the full synthesis; anyone else its public
    form once published (404 before)."""
    campaign = await CampaignRepository(session).get(campaign_id)
    if campaign is None:
        raise NotFound(f"No campaign {campaign_id}")
    publication = await AnswerRowRepository(session).publication(campaign.id)
    visible = regions is None or campaign.owner_region in regions
    if visible and is_manager(principal, campaign):
        return campaign, publication, False
    if publication is None:  # a published synthesis is open data, whoever asks
        raise NotFound(f"No campaign {campaign_id}")
    return campaign, publication, True


async def read_synthesis(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    thresholds: Thresholds,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
) -> Synthesis:
    campaign, publication, public = await synthesis_view(
        session, campaign_id, principal=principal, regions=regions
    )
    return await build(session, campaign, thresholds, public=public, publication=publication)


async def read_public_synthesis(
    session: AsyncSession, campaign_id: uuid.UUID, thresholds: Thresholds
) -> Synthesis:
    """The published synthesis, for anyone (404 until published)."""
    campaign = await CampaignRepository(session).get(campaign_id)
    publication = await AnswerRowRepository(session).publication(campaign_id) if campaign else None
    if campaign is None or publication is None:
        raise NotFound(f"No published synthesis for campaign {campaign_id}")
    return await build(session, campaign, thresholds, public=True, publication=publication)


def _publication_read(publication: SynthesisPublication) -> Publication:
    return Publication(
        campaign_id=publication.campaign_id,
        published_at=publication.published_at,
        published_by=publication.published_by,
        public_url=f"/api/v1/campaigns/{publication.campaign_id}/synthesis/public",
    )


async def publish(
    session: AsyncSession, campaign_id: uuid.UUID, *, principal: Principal, regions: frozenset[str] | None
) -> tuple[Publication, bool]:
    """Publish the synthesis (idempotent: publishing again changes nothing); (the publication, created)."""
    campaign = await managed(session, campaign_id, principal=principal, regions=regions)
    repository = AnswerRowRepository(session)
    existing = await repository.publication(campaign.id)
    if existing is not None:
        return _publication_read(existing), False
    publication = await repository.publish(
        SynthesisPublication(campaign_id=campaign.id, published_at=utcnow(), published_by=principal.subject)
    )
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action="publish",
        entity_type=ENTITY,
        entity_id=str(campaign.id),
        changes={"published": {"old": False, "new": True}},
    )
    return _publication_read(publication), True
