from __future__ import annotations

from fastapi import FastAPI

from planeco_actions.actions.router import public_router as published_actions_router
from planeco_actions.actions.router import router as actions_router
from planeco_actions.aids.router import funding_router
from planeco_actions.aids.router import router as aids_router
from planeco_actions.debate.router import router as debate_router
from planeco_actions.followups.router import router as followups_router
from planeco_actions.jobs import JOBS
from planeco_actions.publications.router import router as publications_router
from planeco_actions.roadmaps.router import router as roadmaps_router
from planeco_actions.settings import ActionsSettings
from planeco_actions.support.router import router as support_router
from planeco_shared.app_factory import create_service_app


def create_app(settings: ActionsSettings | None = None) -> FastAPI:
    return create_service_app(
        name="actions",
        title="planeco actions",
        description=(
            "COP actions and roadmaps, debate, support measures, aids (Aides-territoires), follow-up."
        ),
        settings=settings or ActionsSettings(),
        tags={
            "actions": "The COP actions of the roadmaps: who carries them, when, for which lever, with "
            "what expected impact, and their history.",
            "follow-up": "Dated progress updates of the actions (the latest counts in the roadmap), and "
            "the actions overdue for one.",
            "roadmaps": "The roadmap of a territory: lever by lever, the objective, how far the actions go "
            "toward it (« la marche à franchir ») and the remaining gap.",
            "roadmap-publications": "Published roadmaps: dated, numbered, immutable snapshots of a "
            "région's or a département's roadmap, readable by anyone forever, with their CSV and XLSX "
            "exports and a Frictionless data package (Licence Ouverte 2.0), ready for an open-data portal.",
            "aids": "The catalogue of aids for collectivités, synced daily from Aides-territoires (Licence "
            "Ouverte; source: Aides-territoires), and the runs of that sync.",
            "debates": "The debate of a COP (seed 002): working groups by theme and levers, owned by a "
            "région or a département, with their members, meetings and syntheses, and proposals "
            "promoted to actions.",
            "support-measures": "Per lever, the support measures of the State and other bodies "
            "(dispositifs d'accompagnement): who offers them, what kind of support, for whom; each owner "
            "(the nation, a région, a département) imports its whole catalogue as a file.",
        },
        jobs=JOBS,
        routers=[
            followups_router,  # before actions_router: /actions/overdue is not an action id
            actions_router,
            published_actions_router,
            roadmaps_router,
            publications_router,
            aids_router,
            funding_router,
            support_router,
            debate_router,
        ],
    )
