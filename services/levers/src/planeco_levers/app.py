from __future__ import annotations

from fastapi import FastAPI

from planeco_levers.adjustments.router import router as adjustments_router
from planeco_levers.declination.router import keys_router as declination_keys_router
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
        tags={
            "territories": "The INSEE COG 2026 (régions, départements, EPCI, EPT, communes) and the "
            "CRTE perimeters the régions upload; a collectivité by SIREN or INSEE code.",
            "levers": "The SGPE levers by panorama version, their sectors and thématiques, and the "
            "conversion between ktCO2e and each lever's physical unit.",
            "panoramas": "The versions of the SGPE regional panorama: each région's objectives per lever, "
            "the national sums, the differences between versions, their files, and their import.",
            "declination": "Each région's objectives declined to its départements, EPCI and CRTE, exactly, "
            "with the keys (population, or the région's own) they are declined with.",
            "adjustments": "The régions' own objectives per lever beside the official ones, and their "
            "history.",
        },
        jobs=JOBS,
        routers=[
            territories_router,
            levers_router,
            panoramas_router,
            declination_router,
            declination_keys_router,
            adjustments_router,
        ],
    )
