from __future__ import annotations

from fastapi import FastAPI

from planeco_levers.adjustments.router import router as adjustments_router
from planeco_levers.declination.router import router as declination_router
from planeco_levers.jobs import JOBS
from planeco_levers.levers.router import router as levers_router
from planeco_levers.panoramas.router import router as panoramas_router
from planeco_levers.settings import LeversSettings
from planeco_levers.territories.router import router as territories_router
from planeco_shared.app_factory import create_service_app


def create_app(settings: LeversSettings | None = None) -> FastAPI:
    return create_service_app(
        name="levers",
        title="planeco levers",
        description=(
            "Territories (INSEE COG), sectors and levers, panoramas of objectives, conversions, declination, "
            "regional adjustments."
        ),
        settings=settings or LeversSettings(),
        jobs=JOBS,
        routers=[territories_router, levers_router, panoramas_router, declination_router, adjustments_router],
    )
