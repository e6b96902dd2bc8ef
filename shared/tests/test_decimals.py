"""Exact decimal inputs: JSON numbers parsed exactly, values at their column's scale, no negative zero."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import pytest
from fastapi import APIRouter
from pydantic import BaseModel, Field, ValidationError

from planeco_shared.app_factory import create_service_app
from planeco_shared.decimals import Scale, normalise
from planeco_shared.identity import PUBLIC
from planeco_shared.settings import ServiceSettings
from planeco_shared.testing import TEST_SECRET, asgi_client

Amount = Annotated[Decimal, Field(ge=0), Scale(2)]


class Body(BaseModel):
    amount: Amount
    count: int


router = APIRouter()


@router.post("/echo", openapi_extra=PUBLIC)
async def echo(body: Body) -> dict[str, str]:
    return {"amount": str(body.amount), "count": str(body.count)}


def test_normalise_quantizes_and_drops_the_sign_of_zero() -> None:
    assert str(normalise(Decimal("12.5"), 4)) == "12.5000"
    assert str(normalise(Decimal("-0.00"), 2)) == "0.00"
    assert str(normalise(Decimal("1E+3"), 2)) == "1000.00"


@pytest.mark.parametrize("value", ["0.001", "1234567890123456", "NaN", "-1"])
def test_scale_refuses_what_would_not_be_stored_exactly(value: str) -> None:
    with pytest.raises(ValidationError):
        Body(amount=Decimal(value), count=1)


async def test_json_numbers_reach_the_model_exactly() -> None:
    settings = ServiceSettings(database_url="sqlite+aiosqlite://", internal_secret=TEST_SECRET)
    app = create_service_app(name="t", title="t", description="t", settings=settings, routers=[router])
    async with asgi_client(app) as client:
        ok = await client.post(
            "/api/v1/echo",
            content=b'{"amount": 9999999999999.99, "count": 2.0}',
            headers={"content-type": "application/json"},
        )
        assert ok.json() == {"amount": "9999999999999.99", "count": "2"}
        # A float would have made 0.1 of it and passed the 2-decimal check.
        refused = await client.post(
            "/api/v1/echo",
            content=b'{"amount": 0.10000000000000001, "count": 1}',
            headers={"content-type": "application/json"},
        )
        assert refused.status_code == 422
