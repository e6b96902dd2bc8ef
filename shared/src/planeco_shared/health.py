"""Liveness, readiness and metrics endpoints, the same in every service (public, not in the API contract)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from planeco_shared.database import database_ready
from planeco_shared.metrics import metrics_endpoint
from planeco_shared.runtime import runtime_of

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    """The process can serve: its database answers."""
    ready = await database_ready(runtime_of(request.app).engine)
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "database": "ok" if ready else "down"},
        status_code=200 if ready else 503,
    )


router.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
