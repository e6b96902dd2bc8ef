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

The public form (published synthesis): a figure resting on fewer than 3 respondents is suppressed (null,
`suppressed: true`, the reason); and within each breakdown, when the suppressed groups together rest on
fewer than 3 respondents, the smallest other groups are suppressed too (so that no group is the overall
minus the shown ones).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.campaigns.models import Campaign, InviteeType
from planeco_diagnostic.campaigns.repository import CampaignRepository
from planeco_diagnostic.db import AuditEntry
from planeco_diagnostic.invitations import service as invitations
from planeco_diagnostic.questionnaires.document import ActionItem, QuestionnaireDocument
from planeco_diagnostic.questionnaires.service import campaign_document
from planeco_diagnostic.responses.schemas import Mobilisation, Need, Pertinence
from planeco_diagnostic.syntheses.models import SynthesisPublication
from planeco_diagnostic.syntheses.repository import AnswerRowRepository, item_levers
from planeco_diagnostic.syntheses.schemas import (
    NOT_ANSWERED,
    SUPPRESSED_REASON,
    AnswerCount,
    Cell,
    DepartementDistribution,
    DepartementSummary,
    Distribution,
    Family,
    ItemSynthesis,
    LeverSynthesis,
    MainLever,
    NeedCount,
    Publication,
    Strength,
    Synthesis,
    Thresholds,
    TypeDistribution,
)
from planeco_shared import audit
from planeco_shared.identity import Principal, Role
from planeco_shared.models import utcnow
from planeco_shared.problems import NotFound
from planeco_shared.scopes import may_act_on

ENTITY = "synthesis"
SHARE = Decimal("0.0001")
MINIMUM_RESPONDENTS = 3
DEFAULT_THRESHOLD = Decimal("0.5")
ENGAGED = frozenset({Mobilisation.realise.value, Mobilisation.en_cours.value})
PERTINENCES = [*(p.value for p in Pertinence), NOT_ANSWERED]
MOBILISATIONS = [*(m.value for m in Mobilisation), NOT_ANSWERED]
TOP_STRENGTHS, TOP_LEVERS = 5, 3

Pair = tuple[str, str]
DistributionT = TypeVar("DistributionT", bound=Distribution)


def share(part: int, whole: int) -> str | None:
    if not whole:
        return None
    return str((Decimal(part) / Decimal(whole)).quantize(SHARE, rounding=ROUND_HALF_EVEN))


def _share(part: int, whole: int) -> str:
    return share(part, whole) or "0.0000"


def _pair(pertinence: str | None, mobilisation: str | None) -> Pair:
    return (pertinence or NOT_ANSWERED, mobilisation or NOT_ANSWERED)


def family(counts: Counter[Pair], thresholds: Thresholds) -> Family | None:
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


def _needs(needs: list[int], n: int) -> list[NeedCount]:
    ranked = sorted(
        ((need, count) for need, count in zip(Need, needs, strict=True) if count),
        key=lambda pair: -pair[1],
    )
    return [NeedCount(need=need, count=count, share=_share(count, n)) for need, count in ranked]


def distribution(
    cls: type[DistributionT],
    counts: Counter[Pair],
    respondents: int,
    *,
    suppressed: bool = False,
    needs: list[int] | None = None,
    **extra: Any,
) -> DistributionT:
    if suppressed:
        return cls(
            n=None,
            respondents=None,
            suppressed=True,
            reason=SUPPRESSED_REASON,
            pertinence=None,
            mobilisation=None,
            cells=None,
            relevant_share=None,
            engaged_share=None,
            **extra,
        )
    n = sum(counts.values())
    by_pertinence: Counter[str] = Counter()
    by_mobilisation: Counter[str] = Counter()
    for (p, m), c in counts.items():
        by_pertinence[p] += c
        by_mobilisation[m] += c
    given = n - by_pertinence[NOT_ANSWERED]
    pertinent = by_pertinence[Pertinence.pertinent.value]
    engaged = sum(c for (p, m), c in counts.items() if p == Pertinence.pertinent and m in ENGAGED)
    return cls(
        n=n,
        respondents=respondents,
        pertinence={
            p: AnswerCount(count=by_pertinence[p], share=_share(by_pertinence[p], n)) for p in PERTINENCES
        },
        mobilisation={
            m: AnswerCount(count=by_mobilisation[m], share=_share(by_mobilisation[m], n))
            for m in MOBILISATIONS
        },
        cells=[
            Cell(pertinence=p, mobilisation=m, count=counts[(p, m)], share=_share(counts[(p, m)], n))
            for p in PERTINENCES
            for m in MOBILISATIONS
            if counts[(p, m)]
        ],
        relevant_share=share(pertinent, given),
        engaged_share=share(engaged, pertinent),
        needs=_needs(needs, n) if needs is not None else None,
        **extra,
    )


def suppressed_groups(respondents: dict[Any, int], *, public: bool) -> set[Any]:
    """The groups of a breakdown to suppress: those under 3 respondents, and then the smallest others
    until the suppressed ones together rest on 3 or more (secondary suppression)."""
    if not public:
        return set()
    hidden = {g for g, r in respondents.items() if r < MINIMUM_RESPONDENTS}
    if hidden and sum(respondents[g] for g in hidden) < MINIMUM_RESPONDENTS:
        for group in sorted(
            (g for g in respondents if g not in hidden), key=lambda g: (respondents[g], str(g))
        ):
            hidden.add(group)
            if sum(respondents[g] for g in hidden) >= MINIMUM_RESPONDENTS:
                break
    return hidden


def _sum(counters: Iterable[Counter[Pair]]) -> Counter[Pair]:
    total: Counter[Pair] = Counter()
    for counter in counters:
        total.update(counter)
    return total


def _departement_order(code: str | None) -> tuple[bool, str]:
    return (code is None, code or "")


async def document_of(session: AsyncSession, campaign: Campaign) -> QuestionnaireDocument:
    return await campaign_document(session, campaign.questionnaire_id)


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


async def build(
    session: AsyncSession,
    campaign: Campaign,
    thresholds: Thresholds,
    *,
    public: bool,
    publication: SynthesisPublication | None,
) -> Synthesis:
    repository = AnswerRowRepository(session)
    document = await document_of(session, campaign)
    levers_of = item_levers(document)
    labels = {
        i.key: (i.label, s.key) for s in document.sections for i in s.items if isinstance(i, ActionItem)
    }
    by_type: dict[str, dict[str, Counter[Pair]]] = {}
    needs_of: dict[str, list[int]] = {}
    for key, group, p, m, n, needs in await repository.item_counts(campaign.id, "type"):
        assert group is not None
        by_type.setdefault(key, {}).setdefault(group, Counter())[_pair(p, m)] += n
        needs_of[key] = [a + b for a, b in zip(needs_of.get(key, [0] * len(needs)), needs, strict=True)]
    by_departement: dict[str, dict[str | None, Counter[Pair]]] = {}
    for key, group, p, m, n, _ in await repository.item_counts(campaign.id, "departement"):
        by_departement.setdefault(key, {}).setdefault(group, Counter())[_pair(p, m)] += n
    lever_type: dict[str, Counter[str]] = {}
    lever_departement: dict[str, Counter[str | None]] = {}
    for lever, type_, departement, n in await repository.lever_respondents(campaign.id):
        lever_type.setdefault(lever, Counter())[type_] += n
        lever_departement.setdefault(lever, Counter())[departement] += n
    type_respondents: Counter[str] = Counter()
    departement_respondents: Counter[str | None] = Counter()
    for type_, departement, n in await repository.respondents(campaign.id):
        type_respondents[type_] += n
        departement_respondents[departement] += n
    total_respondents = sum(type_respondents.values())

    def breakdowns(
        types: dict[str, Counter[Pair]],
        departements: dict[str | None, Counter[Pair]],
        type_counts: dict[str, int],
        departement_counts: dict[str | None, int],
    ) -> tuple[list[TypeDistribution], list[DepartementDistribution]]:
        hidden_types = suppressed_groups(type_counts, public=public)
        hidden_departements = suppressed_groups(departement_counts, public=public)
        return (
            [
                distribution(
                    TypeDistribution,
                    types[t.value],
                    type_counts[t.value],
                    suppressed=t.value in hidden_types,
                    type=t,
                )
                for t in InviteeType
                if t.value in types
            ],
            [
                distribution(
                    DepartementDistribution,
                    departements[d],
                    departement_counts[d],
                    suppressed=d in hidden_departements,
                    departement=d,
                )
                for d in sorted(departements, key=_departement_order)
            ],
        )

    items: list[ItemSynthesis] = []
    item_overall: dict[str, Counter[Pair]] = {}
    for key, lever_ids in levers_of.items():
        types = by_type.get(key, {})
        departements = by_departement.get(key, {})
        overall = _sum(types.values())
        item_overall[key] = overall
        n = sum(overall.values())
        typed, departemented = breakdowns(
            types,
            departements,
            {t: sum(c.values()) for t, c in types.items()},  # one answer per respondent and item
            {d: sum(c.values()) for d, c in departements.items()},
        )
        items.append(
            ItemSynthesis(
                item_key=key,
                label=labels[key][0],
                section_key=labels[key][1],
                lever_ids=lever_ids,
                overall=distribution(
                    Distribution,
                    overall,
                    n,
                    suppressed=public and n < MINIMUM_RESPONDENTS,
                    needs=needs_of.get(key, [0] * len(Need)),
                ),
                by_type=typed,
                by_departement=departemented,
            )
        )
    lever_items: dict[str, list[str]] = {}
    for key, lever_ids in levers_of.items():
        for lever in lever_ids:
            lever_items.setdefault(lever, []).append(key)
    levers: list[LeverSynthesis] = []
    for lever, keys in lever_items.items():
        types = {}
        for key in keys:
            for t, c in by_type.get(key, {}).items():
                types.setdefault(t, Counter()).update(c)
        departements = {}
        for key in keys:
            for d, c in by_departement.get(key, {}).items():
                departements.setdefault(d, Counter()).update(c)
        overall = _sum(types.values())
        respondents = sum(lever_type.get(lever, Counter()).values())
        needs = [sum(x) for x in zip(*(needs_of.get(k, [0] * len(Need)) for k in keys), strict=True)]
        hidden = public and respondents < MINIMUM_RESPONDENTS
        typed, departemented = breakdowns(
            types, departements, dict(lever_type.get(lever, {})), dict(lever_departement.get(lever, {}))
        )
        levers.append(
            LeverSynthesis(
                lever_id=lever,
                item_keys=keys,
                family=None if hidden else family(overall, thresholds),
                overall=distribution(Distribution, overall, respondents, suppressed=hidden, needs=needs),
                by_type=typed,
                by_departement=departemented,
            )
        )
    all_needs = [sum(x) for x in zip(*(needs_of.get(k, [0] * len(Need)) for k in levers_of), strict=True)]
    departement_summaries = []
    for departement in sorted(departement_respondents, key=_departement_order):
        respondents = departement_respondents[departement]
        if public and respondents < MINIMUM_RESPONDENTS:
            departement_summaries.append(
                DepartementSummary(
                    departement=departement,
                    respondents=None,
                    suppressed=True,
                    reason=SUPPRESSED_REASON,
                    strengths=None,
                    main_levers=None,
                )
            )
            continue
        strengths = []
        for key in levers_of:
            counts = by_departement.get(key, {}).get(departement, Counter())
            done = sum(c for (_, m), c in counts.items() if m in ENGAGED)
            if done:
                label = labels[key][0]
                strengths.append(
                    Strength(item_key=key, label=label, count=done, share=_share(done, sum(counts.values())))
                )
        strengths.sort(key=lambda s: -s.count)
        main = []
        for lever, keys in lever_items.items():
            counts = _sum(by_departement.get(k, {}).get(departement, Counter()) for k in keys)
            done = sum(c for (_, m), c in counts.items() if m in ENGAGED)
            if done:
                main.append(MainLever(lever_id=lever, count=done, share=_share(done, sum(counts.values()))))
        main.sort(key=lambda lever: -lever.count)
        departement_summaries.append(
            DepartementSummary(
                departement=departement,
                respondents=respondents,
                strengths=strengths[:TOP_STRENGTHS],
                main_levers=main[:TOP_LEVERS],
            )
        )
    return Synthesis(
        campaign_id=campaign.id,
        title=campaign.title,
        counted="submitted",
        respondents=total_respondents,
        public=public,
        published_at=publication.published_at if publication is not None else None,
        thresholds=thresholds,
        overall=distribution(
            Distribution,
            _sum(item_overall.values()),
            total_respondents,
            suppressed=public and total_respondents < MINIMUM_RESPONDENTS,
            needs=all_needs if levers_of else [0] * len(Need),
        ),
        levers=levers,
        items=items,
        departements=departement_summaries,
    )


async def read_synthesis(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    thresholds: Thresholds,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
) -> Synthesis:
    """Managers read the full synthesis; anyone else its public form once published (404 before)."""
    campaign = await CampaignRepository(session).get(campaign_id)
    if campaign is None:
        raise NotFound(f"No campaign {campaign_id}")
    publication = await AnswerRowRepository(session).publication(campaign.id)
    visible = regions is None or campaign.owner_region in regions
    if visible and is_manager(principal, campaign):
        return await build(session, campaign, thresholds, public=False, publication=publication)
    if publication is None:  # a published synthesis is open data, whoever asks
        raise NotFound(f"No campaign {campaign_id}")
    return await build(session, campaign, thresholds, public=True, publication=publication)


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
