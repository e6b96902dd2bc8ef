"""Comparison of two campaigns' syntheses on the same questionnaire, or on two editions of it (same
lineage): per action item both share (by key) and per lever whose items are the same in both, each
campaign's shares and the difference (second − first, from the exact fractions, 4 places, half to even).
Each side is read as `GET …/synthesis` would give it to the caller (full for its managers, the public form
once published, else 404)."""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.campaigns.repository import CampaignRepository
from planeco_diagnostic.questionnaires.repository import QuestionnaireRepository
from planeco_diagnostic.syntheses import service
from planeco_diagnostic.syntheses.schemas import (
    ComparedFigure,
    ComparedSide,
    Comparison,
    Difference,
    Distribution,
    Thresholds,
)
from planeco_shared.identity import Principal
from planeco_shared.problems import FieldError, UnprocessableEntity

DEFAULT = Thresholds(relevance="0.5000", engagement="0.5000")


def _side(figures: Distribution) -> ComparedSide:
    return ComparedSide(
        n=figures.n,
        respondents=figures.respondents,
        suppressed=figures.suppressed,
        pertinence={k: v.share for k, v in figures.pertinence.items() if v.share is not None}
        if figures.pertinence is not None
        else None,
        mobilisation={k: v.share for k, v in figures.mobilisation.items() if v.share is not None}
        if figures.mobilisation is not None
        else None,
        relevant_share=figures.relevant_share,
        engaged_share=figures.engaged_share,
    )


def _fraction(part: int | None, whole: int | None) -> Decimal | None:
    return None if part is None or not whole else Decimal(part) / Decimal(whole)


def _minus(second: Decimal | None, first: Decimal | None) -> str | None:
    if second is None or first is None:
        return None
    return str((second - first).quantize(service.SHARE, rounding=ROUND_HALF_EVEN) + 0)


def _given_and_pertinent(figures: Distribution) -> tuple[int | None, int | None, int | None]:
    if figures.pertinence is None or figures.n is None:
        return None, None, None
    given = figures.n - (figures.pertinence["non_renseigne"].count or 0)
    pertinent = figures.pertinence["pertinent"].count
    engaged = sum(
        c.count
        for c in figures.cells or []
        if c.pertinence == "pertinent" and c.mobilisation in service.ENGAGED
    )
    return given, pertinent, engaged


def _difference(first: Distribution, second: Distribution) -> Difference:
    def marginal(name: str) -> dict[str, str] | None:
        a, b = getattr(first, name), getattr(second, name)
        if a is None or b is None:
            return None
        out = {}
        for key in a:
            value = _minus(_fraction(b[key].count, second.n), _fraction(a[key].count, first.n))
            if value is not None:
                out[key] = value
        return out

    g1, p1, e1 = _given_and_pertinent(first)
    g2, p2, e2 = _given_and_pertinent(second)
    return Difference(
        pertinence=marginal("pertinence"),
        mobilisation=marginal("mobilisation"),
        relevant_share=_minus(_fraction(p2, g2), _fraction(p1, g1)),
        engaged_share=_minus(_fraction(e2, p2), _fraction(e1, p1)),
    )


def _figure(key: str, label: str | None, first: Distribution, second: Distribution) -> ComparedFigure:
    return ComparedFigure(
        key=key, label=label, first=_side(first), second=_side(second), difference=_difference(first, second)
    )


async def compare(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    other_id: uuid.UUID,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
) -> Comparison:
    first = await service.read_synthesis(session, campaign_id, DEFAULT, principal=principal, regions=regions)
    second = await service.read_synthesis(session, other_id, DEFAULT, principal=principal, regions=regions)
    campaigns = [await CampaignRepository(session).get(i) for i in (campaign_id, other_id)]
    questionnaires = QuestionnaireRepository(session)
    lineages = []
    for campaign in campaigns:
        assert campaign is not None  # read above
        questionnaire = await questionnaires.get(campaign.questionnaire_id)
        assert questionnaire is not None
        lineages.append(questionnaire.lineage_id)
    if lineages[0] != lineages[1]:
        raise UnprocessableEntity(
            "The two campaigns use different questionnaires (nor two editions of one): nothing to compare",
            errors=[
                FieldError(
                    loc=["query", "with"], msg="uses another questionnaire", type="other-questionnaire"
                )
            ],
        )
    first_items = {item.item_key: item for item in first.items}
    second_items = {item.item_key: item for item in second.items}
    shared = [key for key in first_items if key in second_items]
    second_levers = {lever.lever_id: lever for lever in second.levers}
    return Comparison(
        campaign_id=campaign_id,
        with_campaign_id=other_id,
        counted="submitted",
        first_public=first.public,
        second_public=second.public,
        items=[
            _figure(key, first_items[key].label, first_items[key].overall, second_items[key].overall)
            for key in shared
        ],
        levers=[
            _figure(lever.lever_id, None, lever.overall, second_levers[lever.lever_id].overall)
            for lever in first.levers
            if lever.lever_id in second_levers and second_levers[lever.lever_id].item_keys == lever.item_keys
        ],
        only_in_first=[key for key in first_items if key not in second_items],
        only_in_second=[key for key in second_items if key not in first_items],
    )
