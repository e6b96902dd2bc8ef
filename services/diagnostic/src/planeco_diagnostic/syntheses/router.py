"""The synthesis of a campaign (`/api/v1/campaigns/{campaign_id}/synthesis…`): its read, its publication,
its public read, the distance to objectives, the exports and the comparison of two campaigns."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from starlette.responses import Response as StarletteResponse

from planeco_diagnostic.questionnaires.service import campaign_document
from planeco_diagnostic.responses import service as responses
from planeco_diagnostic.responses.schemas import CampaignStats
from planeco_diagnostic.syntheses import comparison, distance, exports, service
from planeco_diagnostic.syntheses.schemas import Comparison, Distance, Publication, Synthesis, Thresholds
from planeco_shared.caching import private_answers, public_cache
from planeco_shared.contract import CACHED_ETAG, header
from planeco_shared.database import SessionDep
from planeco_shared.identity import PUBLIC, AnyCaller, Authenticated, Role, require_authenticated
from planeco_shared.problems import problem_responses
from planeco_shared.runtime import LeversDep, VisibleRegions, runtime_of
from planeco_shared.tabular import (
    RepresentationDep,
    add_export_route,
    file_responses,
    streamed_tabular_response,
)

RULES = (
    "Counts the **submitted** responses only (drafts never). Per lever and per action item: pertinence × "
    "mobilisation, overall, by collectivité type and by département, each with `n` (answers) and "
    "`respondents`; counts exact (the parts add up to `overall`), shares count / n to 4 places, half to "
    "even. The needs most expressed; per département its strengths (actions most realise or en_cours, top "
    "5) and main levers (top 3). Families per lever: no pertinence given → null; pertinent / answers giving "
    "a pertinence < `relevance_threshold` (or none pertinent) → `a_debattre`; else (pertinent and realise "
    "or en_cours) / pertinent ≥ `engagement_threshold` → `engages`; else `a_accelerer` (exact comparisons: "
    "at the threshold is enough)."
)
PUBLIC_FORM = (
    " The public form is made of whole cells (an item's answers by the collectivités of one type in one "
    "département): a cell of fewer than 3 answers is left out of every figure (counted in `withheld`), so "
    "that no figure, nor any difference of two, rests on fewer than 3 collectivités; a figure or group "
    "with no kept answer is null with `suppressed: true` and the reason. Individual responses are never "
    "public."
)
REVALIDATION = (
    " Built once per data version and kept: send the `ETag` back as `If-None-Match` for a 304 until a "
    "response, a campaign or a publication changes."
)
PRIVATE_CACHED: dict[int | str, dict[str, Any]] = {
    200: {"headers": {"ETag": CACHED_ETAG, "Cache-Control": header("`private, no-cache`")}},
    304: {
        "description": "Not modified: your copy (`If-None-Match`) is current",
        "headers": {"ETag": CACHED_ETAG, "Cache-Control": header("`private, no-cache`")},
    },
}

THRESHOLD_PATTERN = r"^(0(\.\d{1,4})?|1(\.0{1,4})?)$"
THRESHOLD_DESCRIPTION = "A decimal from 0 to 1, at most 4 places; default 0.5 (see the family rule)"


def _share(text: str) -> str:
    return str(Decimal(text).quantize(Decimal("0.0001")))


async def thresholds(  # async: no thread-pool hand-off
    relevance_threshold: Annotated[
        str, Query(pattern=THRESHOLD_PATTERN, description=THRESHOLD_DESCRIPTION)
    ] = "0.5",
    engagement_threshold: Annotated[
        str, Query(pattern=THRESHOLD_PATTERN, description=THRESHOLD_DESCRIPTION)
    ] = "0.5",
) -> Thresholds:
    return Thresholds(relevance=_share(relevance_threshold), engagement=_share(engagement_threshold))


ThresholdsDep = Annotated[Thresholds, Depends(thresholds)]

router = APIRouter(
    prefix="/campaigns",
    tags=["syntheses"],
    dependencies=[Depends(require_authenticated)],
    responses=problem_responses(401, 404),
)
public_router = APIRouter(prefix="/campaigns", tags=["syntheses"], responses=problem_responses(404))


@router.get(
    "/{campaign_id}/synthesis",
    response_model=Synthesis,
    summary="The synthesis of a campaign's responses",
    description=RULES + " Full figures for the coordinators of the campaign's owner and admins; once "
    "published, the public form for anyone else; 404 for them before." + PUBLIC_FORM + REVALIDATION,
    responses=problem_responses(422) | PRIVATE_CACHED,
)
async def get_synthesis(
    request: Request,
    campaign_id: uuid.UUID,
    session: SessionDep,
    principal: Authenticated,
    regions: VisibleRegions,
    limits: ThresholdsDep,
) -> StarletteResponse:
    version = await runtime_of(request.app).data_version()  # before the data (planeco_shared.caching)
    campaign, publication, public = await service.synthesis_view(
        session, campaign_id, principal=principal, regions=regions
    )

    async def body() -> bytes:
        built = await service.figures(session, campaign, limits, public=public, publication=publication)
        return service.figures_json(built)

    view = (campaign.id, limits.relevance, limits.engagement, public)
    return await private_answers(request).respond(request, view, version, body)


@public_router.get(
    "/{campaign_id}/synthesis/public",
    response_model=Synthesis,
    summary="The published synthesis of a campaign (public)",
    description="Open data once a coordinator has published it (404 before), for anyone, cached. "
    + RULES
    + PUBLIC_FORM,
    responses=problem_responses(422),
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def get_public_synthesis(
    campaign_id: uuid.UUID, session: SessionDep, _caller: AnyCaller, limits: ThresholdsDep
) -> Synthesis:
    return await service.read_public_synthesis(session, campaign_id, limits)


@router.post(
    "/{campaign_id}/synthesis/publication",
    response_model=Publication,
    status_code=status.HTTP_201_CREATED,
    summary="Publish the synthesis of a campaign (open data)",
    description="For the coordinators of the campaign's owner and admins (404 for anyone else). Then "
    "`GET …/synthesis/public` answers anyone. Idempotent: publishing again changes nothing and answers "
    "200 with the first publication. Audited.",
    responses={200: {"model": Publication, "description": "Already published: the publication"}},
)
async def publish_synthesis(
    campaign_id: uuid.UUID,
    session: SessionDep,
    principal: Authenticated,
    regions: VisibleRegions,
    response: Response,
) -> Publication:
    publication, created = await service.publish(session, campaign_id, principal=principal, regions=regions)
    if not created:
        response.status_code = status.HTTP_200_OK
    return publication


@router.get(
    "/{campaign_id}/synthesis/distance",
    response_model=Distance,
    summary="The distance to objectives of a campaign",
    description="Per lever of the questionnaire's items with a quantity: the quantities the submitted "
    "responses report as done (`realise`) and as planned (`en_cours`, `planifie`), summed exactly in the "
    "lever's unit, in ktCO2e (quantity / |ratio| of the région at the campaign's panorama version, 4 "
    "places, half to even), against the région's objective (adjusted when it set one, else official; both "
    "given) and each département's declined official objective; an intensive unit is said not summable. "
    "Each figure says how many respondents it rests on. Full for the campaign's coordinators and admins; "
    "once published, the public form (under 3 respondents suppressed) for anyone else; 404 before.",
)
async def get_distance(
    campaign_id: uuid.UUID,
    session: SessionDep,
    principal: Authenticated,
    regions: VisibleRegions,
    levers: LeversDep,
) -> Distance:
    return await distance.read_distance(session, levers, campaign_id, principal=principal, regions=regions)


@public_router.get(
    "/{campaign_id}/synthesis/distance/public",
    response_model=Distance,
    summary="The published distance to objectives of a campaign (public)",
    description="Once the synthesis is published (404 before), for anyone: the public form of "
    "`…/synthesis/distance` (figures under 3 respondents suppressed). Not cached: the objectives are the "
    "levers service's.",
    openapi_extra=PUBLIC,
)
async def get_public_distance(
    campaign_id: uuid.UUID, session: SessionDep, _caller: AnyCaller, levers: LeversDep
) -> Distance:
    return await distance.read_distance(session, levers, campaign_id, principal=None, regions=None)


async def synthesis_of(
    campaign_id: uuid.UUID,
    session: SessionDep,
    principal: Authenticated,
    regions: VisibleRegions,
    limits: ThresholdsDep,
) -> Synthesis:
    """What `getSynthesis` answers, as the model (its export's view)."""
    return await service.read_synthesis(session, campaign_id, limits, principal=principal, regions=regions)


add_export_route(
    router,
    "/{campaign_id}/synthesis",
    synthesis_of,
    name="export_synthesis",
    summary="The synthesis of a campaign as a CSV or XLSX file",
    description="What `getSynthesis` shows, one row per lever or item × breakdown group (overall, each "
    "type, each département): n, respondents, counts per pertinence and per mobilisation, shares, the "
    "lever's family. The same readers as `getSynthesis`.",
    filename=lambda view, _arguments: f"planeco-synthese-{view.campaign_id}",
    table=exports.synthesis_table,
)
add_export_route(
    public_router,
    "/{campaign_id}/synthesis/public",
    get_public_synthesis,
    name="export_public_synthesis",
    summary="The published synthesis of a campaign as a CSV or XLSX file (public)",
    description="The public form (figures under 3 respondents suppressed), for anyone once published.",
    filename=lambda view, _arguments: f"planeco-synthese-publique-{view.campaign_id}",
    table=exports.synthesis_table,
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)


async def _campaign_stats(
    campaign_id: uuid.UUID, session: SessionDep, principal: Authenticated, regions: VisibleRegions
) -> CampaignStats:
    return await responses.campaign_stats(session, campaign_id, principal=principal, regions=regions)


add_export_route(
    router,
    "/{campaign_id}/stats",
    _campaign_stats,
    name="export_campaign_stats",
    summary="The response rates of a campaign as a CSV or XLSX file",
    description="What `getCampaignStats` shows: one row overall, one per type, one per département. For "
    "the coordinators of the campaign's owner and admins.",
    filename=lambda view, _arguments: f"planeco-taux-de-reponse-{view.campaign_id}",
    table=exports.stats_table,
    responses=problem_responses(403),
)


@router.get(
    "/{campaign_id}/answers/export",
    summary="Every answer of a campaign as a CSV or XLSX file",
    description="One row per collectivité × item answered (drafts and submitted, with the status), with "
    "the collectivité's code, name, type and département and the item's key, label and levers; decimals "
    "exact. Streamed (memory flat in the number of answers). Individual responses: for the coordinators "
    "of the campaign's owner and admins only (404 for anyone else), never public.",
    response_class=StarletteResponse,
    responses=file_responses("Every answer of the campaign"),
)
async def export_answers(
    campaign_id: uuid.UUID,
    session: SessionDep,
    principal: Authenticated,
    regions: VisibleRegions,
    representation: RepresentationDep,
    request: Request,
) -> StarletteResponse:
    campaign = await service.managed(session, campaign_id, principal=principal, regions=regions)
    document = await campaign_document(session, campaign.questionnaire_id)
    sessionmaker = runtime_of(request.app).sessionmaker
    return streamed_tabular_response(
        representation,
        filename=f"planeco-reponses-{campaign.id}",
        metadata=exports.answers_metadata(campaign),
        columns=exports.ANSWERS_COLUMNS,
        rows=lambda: exports.answers_rows(sessionmaker, campaign, document),
    )


@public_router.get(
    "/{campaign_id}/synthesis/comparison",
    response_model=Comparison,
    summary="Compare the syntheses of two campaigns",
    description="Two campaigns on the same questionnaire or on two editions of it (else 422): per action "
    "item both have (by key), and per lever whose items are the same in both, each campaign's shares and "
    "the difference (the second's minus the first's, from the exact fractions, 4 places, half to even). "
    "Each campaign is read as `getSynthesis` gives it to the caller (full for its coordinators and admins, "
    "the public form once published, else 404): two published syntheses compare for anyone, without "
    "credentials (open data).",
    responses=problem_responses(404, 422),
    openapi_extra=PUBLIC,
)
async def compare_syntheses(
    campaign_id: uuid.UUID,
    other: Annotated[uuid.UUID, Query(alias="with", description="The other campaign's id")],
    request: Request,
    session: SessionDep,
    principal: AnyCaller,
) -> Comparison:
    # An anonymous caller sees no région's private data: it reads the public forms only (synthesis_view).
    regions = (
        None
        if principal.role is Role.anonymous
        else await runtime_of(request.app).scopes.visible_regions(principal)
    )
    return await comparison.compare(session, campaign_id, other, principal=principal, regions=regions)
