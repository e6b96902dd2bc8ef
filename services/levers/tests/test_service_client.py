"""The typed levers client other services use, against the real levers app and its real data."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI

from planeco_shared.clients.levers import LeversClient
from planeco_shared.identity import AuthMethod, Principal, Role
from planeco_shared.problems import NotFound
from planeco_shared.testing import TEST_SECRET

CALLER = Principal(subject="svc:actions", role=Role.reader, method=AuthMethod.api_key)


def levers_client(app: FastAPI) -> tuple[httpx.AsyncClient, LeversClient]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://levers")
    return http, LeversClient(http, base_url="http://levers", internal_secret=TEST_SECRET)


async def test_region_lever_and_conversion(app: FastAPI) -> None:
    http, levers = levers_client(app)
    async with http:
        region = await levers.get_region("24", principal=CALLER)
        assert region.name == "Centre-Val de Loire"
        assert region.population > 2_500_000

        lever = await levers.get_lever("augm_voitelec", principal=CALLER, version="2024-07-24")
        assert lever.has_physical_unit
        assert lever.version == "2024-07-24"

        conversion = await levers.to_physical(
            "augm_voitelec", region="44", version="2024-07-24", ktco2e=Decimal("966.1408"), principal=CALLER
        )
        assert conversion.physical == Decimal("459.68505216")

        with pytest.raises(NotFound):
            await levers.get_lever("no_such_lever", principal=CALLER)
