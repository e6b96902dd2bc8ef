"""The distance to objectives: per lever, the quantities the submitted responses report as done
(`realise`) and as planned (`en_cours`, `planifie`; `envisage` and `non_engage` are not counted), summed
across respondents (exact decimals, in the lever's physical unit: each answer's `lever_quantity`), turned
into ktCO2e with the région's factors at the campaign's panorama version (the levers service's, as the
actions service does for an action's impact: ktCO2e = physical change / ratio; a reported quantity is
the lever's change in the direction of its objective — planted, replaced, equipped —, so its magnitude
|ratio| is used), then rounded to 0.0001 ktCO2e half to even (each figure on its own: the départements'
rounded figures may differ from the whole's by rounding; the exact quantities add up). Set against the
région's objective — the adjusted one when the région set one, else the official one (both given) —
and each département's declined official objective (the levers service's declination to 0.001). A lever
with an intensive unit (per inhabitant, per car…) is not summable: said in `note`, no sum, no ktCO2e.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.campaigns.models import Campaign
from planeco_diagnostic.campaigns.repository import CampaignRepository
from planeco_diagnostic.questionnaires.document import ActionItem
from planeco_diagnostic.questionnaires.service import campaign_document
from planeco_diagnostic.syntheses import service
from planeco_diagnostic.syntheses.repository import MINIMUM_RESPONDENTS, AnswerRowRepository, item_levers
from planeco_diagnostic.syntheses.schemas import (
    SUPPRESSED_REASON,
    DepartementDistance,
    Distance,
    LeverDistance,
    ObjectiveUsed,
    QuantityFigure,
)
from planeco_shared.clients.levers import DeclinationLevel, LeversClient
from planeco_shared.identity import Principal
from planeco_shared.problems import NotFound

KTCO2E = Decimal("0.0001")
DONE = frozenset({"realise"})
PLANNED = frozenset({"en_cours", "planifie"})
EXACT = Context(prec=80)


def _plain(value: Decimal) -> str:
    with localcontext(EXACT):
        text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


class _Sum:
    def __init__(self) -> None:
        self.quantity = Decimal(0)
        self.respondents: set[str] = set()

    def add(self, quantity: Decimal, respondent: str) -> None:
        with localcontext(EXACT):
            self.quantity += quantity
        self.respondents.add(respondent)


def _figure(
    total: _Sum, *, summable: bool, ratio: Decimal | None, suppressed: bool
) -> tuple[QuantityFigure, Decimal | None]:
    if suppressed:
        return (
            QuantityFigure(
                quantity=None, respondents=None, ktco2e=None, suppressed=True, reason=SUPPRESSED_REASON
            ),
            None,
        )
    if not summable:
        return QuantityFigure(quantity=None, respondents=len(total.respondents), ktco2e=None), None
    ktco2e = None
    if ratio:
        with localcontext(EXACT):
            ktco2e = (total.quantity / abs(ratio)).quantize(KTCO2E, rounding=ROUND_HALF_EVEN) + 0
    return (
        QuantityFigure(
            quantity=_plain(total.quantity),
            respondents=len(total.respondents),
            ktco2e=None if ktco2e is None else str(ktco2e),
        ),
        ktco2e,
    )


def suppressed_groups(respondents: dict[str | None, int], *, public: bool) -> set[str | None]:
    """The départements to suppress: those under 3 respondents, and then the smallest others until the
    suppressed ones together rest on 3 or more (secondary suppression: no département is the région's
    total minus the shown ones)."""
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


async def build(session: AsyncSession, levers: LeversClient, campaign: Campaign, *, public: bool) -> Distance:
    document = await campaign_document(session, campaign.questionnaire_id)
    levers_of = item_levers(document)
    measured = list(
        dict.fromkeys(
            levers_of[item.key][0]
            for section in document.sections
            for item in section.items
            if isinstance(item, ActionItem) and item.quantity is not None
        )
    )
    sums: dict[str, dict[str, dict[str | None, _Sum]]] = {
        lever: {"done": defaultdict(_Sum), "planned": defaultdict(_Sum)} for lever in measured
    }
    for lever, mobilisation, quantity, departement, respondent in await AnswerRowRepository(
        session
    ).quantities(campaign.id):
        kind = "done" if mobilisation in DONE else "planned" if mobilisation in PLANNED else None
        if kind is None or lever not in sums:
            continue
        sums[lever][kind][departement].add(Decimal(quantity), respondent)
    version, region = campaign.panorama_version, campaign.owner_region
    panorama = {lever.lever_id: lever for lever in (await levers.region_panorama(version, region)).levers}
    declination = {
        lever.lever_id: lever
        for lever in (
            await levers.declination(version, region, DeclinationLevel.departement, precision="0.001")
        ).levers
    }
    departements = sorted(
        {c.code for lever in measured if lever in declination for c in declination[lever].children}
    )
    results = []
    for lever_id in measured:
        figures = panorama.get(lever_id)
        if figures is None:
            continue  # not in this région's panorama: nothing to measure against
        declined = declination.get(lever_id)
        summable = figures.has_physical_unit and (
            declined is None or declined.physical_method != "not_additive"
        )
        ratio = figures.ratio if summable else None
        note = None
        if not figures.has_physical_unit:
            note = "This lever has no physical unit: quantities cannot be converted"
        elif not summable:
            note = (
                f"Not summable: {figures.unit} is an intensive unit (the collectivités' figures do not "
                "add up)"
            )
        elif not ratio:
            note = f"The ratio of this lever is 0 in région {region}: no ktCO2e"
        measures = sums[lever_id]
        totals: dict[str, tuple[QuantityFigure, Decimal | None]] = {}
        per_departement: dict[str, dict[str | None, QuantityFigure]] = {}
        for kind, by_departement in measures.items():
            whole = _Sum()
            for part in by_departement.values():
                with localcontext(EXACT):
                    whole.quantity += part.quantity
                whole.respondents |= part.respondents
            totals[kind] = _figure(
                whole,
                summable=summable,
                ratio=ratio,
                suppressed=public and len(whole.respondents) < MINIMUM_RESPONDENTS,
            )
            counts = {d: len(s.respondents) for d, s in by_departement.items()}
            hidden = suppressed_groups(counts, public=public)
            per_departement[kind] = {
                d: _figure(s, summable=summable, ratio=ratio, suppressed=d in hidden)[0]
                for d, s in by_departement.items()
            }
        empty = _figure(_Sum(), summable=summable, ratio=ratio, suppressed=False)[0]
        objective = figures.objective_ktco2e
        adjusted = figures.adjusted.objective_ktco2e if figures.adjusted is not None else None
        against = adjusted if adjusted is not None else objective
        done_kt, planned_kt = totals["done"][1], totals["planned"][1]
        # From done and planned as shown (4 places), so that the figures add up; rounded to 4 places (an
        # adjusted objective entered in the physical unit comes with the levers service's 12).
        remaining = (
            str((against - done_kt - planned_kt).quantize(KTCO2E, rounding=ROUND_HALF_EVEN) + 0)
            if done_kt is not None and planned_kt is not None
            else None
        )
        declined_objectives = {c.code: str(c.objective_ktco2e) for c in declined.children} if declined else {}
        codes = [*departements, *([None] if any(None in m for m in per_departement.values()) else [])]
        results.append(
            LeverDistance(
                lever_id=lever_id,
                name=figures.name,
                unit=figures.unit,
                summable=summable,
                note=note,
                ratio=str(figures.ratio),
                done=totals["done"][0],
                planned=totals["planned"][0],
                objective_ktco2e=str(objective),
                adjusted_objective_ktco2e=None if adjusted is None else str(adjusted),
                objective_basis=ObjectiveUsed.adjusted if adjusted is not None else ObjectiveUsed.official,
                remaining_ktco2e=remaining,
                by_departement=[
                    DepartementDistance(
                        departement=code,
                        done=per_departement["done"].get(code, empty),
                        planned=per_departement["planned"].get(code, empty),
                        objective_ktco2e=declined_objectives.get(code) if code is not None else None,
                    )
                    for code in codes
                ],
            )
        )
    return Distance(
        campaign_id=campaign.id,
        region=region,
        panorama_version=version,
        counted="submitted",
        public=public,
        levers=results,
    )


async def read_distance(
    session: AsyncSession,
    levers: LeversClient,
    campaign_id: uuid.UUID,
    *,
    principal: Principal | None,
    regions: frozenset[str] | None,
) -> Distance:
    """Managers read it in full; anyone else in its public form once the synthesis is published."""
    campaign = await CampaignRepository(session).get(campaign_id)
    if campaign is None:
        raise NotFound(f"No campaign {campaign_id}")
    visible = regions is None or campaign.owner_region in regions
    if principal is not None and visible and service.is_manager(principal, campaign):
        return await build(session, levers, campaign, public=False)
    if await AnswerRowRepository(session).publication(campaign.id) is None:
        raise NotFound(f"No campaign {campaign_id}")
    return await build(session, levers, campaign, public=True)
