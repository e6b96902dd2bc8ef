"""Exact decimals in API inputs: one type for every quantity a client sends.

- **Parsing.** JSON numbers are read from the request's text as `Decimal` (`ExactJSONRoute`, which the app
  factory gives every route: FastAPI's own body parsing goes through `json.loads`, which makes them floats,
  and `0.10000000000000001` became `0.1`). A quantity may be sent as a JSON number or a string: both are
  exact. Outputs are strings (`planeco_levers.decimals.ExactDecimal`, or pydantic's Decimal as text).
- **Magnitude.** At most 15 significant digits: what both databases keep exactly (SQLite stores NUMERIC
  values as 8-byte floats, 15 significant digits; PostgreSQL's numeric any).
- **One representation.** A value is quantized to its column's scale on input and `-0` becomes `0`, so the
  create's response, every later read and every PATCH response show the same string (`"12.5"` stored as
  NUMERIC(14, 4) reads `"12.5000"` everywhere), and an unchanged value is never a change in the audit trail.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute, request_response
from pydantic import GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema

EXACT_DIGITS = 15


def normalise(value: Decimal, scale: int) -> Decimal:
    """`value` at exactly `scale` decimal places (it has no more: validated before), never `-0`."""
    quantized = value.quantize(Decimal(1).scaleb(-scale))
    return quantized.copy_abs() if quantized.is_zero() else quantized


@dataclass(frozen=True, slots=True)
class Scale:
    """Annotated metadata of a Decimal input stored as NUMERIC(p, `places`) with p ≤ 15:
    `Annotated[Decimal, Field(ge=0, le=Decimal("9999999999999.99")), Scale(2)]`. At most 15 significant
    digits and `places` decimals (422 otherwise), no NaN or infinity; the value is then `normalise`d."""

    places: int

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        schema = cast("dict[str, Any]", handler(source))
        if schema["type"] != "decimal":
            raise TypeError("Scale applies to a Decimal")
        schema["max_digits"] = EXACT_DIGITS
        schema["decimal_places"] = self.places
        schema["allow_inf_nan"] = False
        return core_schema.no_info_after_validator_function(self.normalise, cast("CoreSchema", schema))

    def normalise(self, value: Decimal) -> Decimal:
        return normalise(value, self.places)


class ExactJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), parse_float=Decimal)
        return self._json


class ExactJSONRoute(APIRoute):
    """A route whose JSON body keeps its numbers as exact decimals."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def exact(request: Request) -> Response:
            return await handler(ExactJSONRequest(request.scope, request.receive))

        return exact


def exact_json(router: APIRouter) -> None:
    """Make every route of `router` an `ExactJSONRoute` (the app factory does it for every service router),
    so that no module has to remember a `route_class`: the class only overrides how the handler reads the
    body and adds no state, so switching it on a built route and rebuilding its ASGI app is safe."""
    for route in router.routes:
        if type(route) is APIRoute:
            route.__class__ = ExactJSONRoute
            route.app = request_response(route.get_route_handler())
        elif isinstance(route, APIRoute) and not isinstance(route, ExactJSONRoute):
            raise TypeError(f"{route.path}: a custom route class must extend ExactJSONRoute")
