"""Unknown query parameters are a 422 naming them, on every operation.

A misspelt filter (`?lever=` for `?lever_id=`, `?regoin=24`) silently ignored answers the unfiltered list,
which a client takes for the filtered one. `RejectUnknownQueryParams` is an app-wide dependency
(`create_service_app` and the gateway's own app add it once): it knows each route's declared query
parameters (its own, those of its dependencies such as `PageDep`, and the fields of query models such as
`filters: Annotated[XFilters, Query()]`, by their aliases) and refuses any other name with the usual 422
problem, one `errors[]` entry per unknown name (`loc: ["query", name]`, `type: "extra_forbidden"`).
"""

from __future__ import annotations

from types import UnionType
from typing import Any, Union, get_args, get_origin

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import AliasChoices, BaseModel
from pydantic.fields import FieldInfo

from planeco_shared.problems import FieldError, UnprocessableEntity
from planeco_shared.routing import iter_routes

_STATE_KEY = "declared_query_params"


def declared_query_params(route: Any) -> frozenset[str]:
    """The query parameter names a route accepts (aliases, as clients send them). `route`: an `APIRoute`
    or a route context of `planeco_shared.routing.iter_routes` (whose dependant has the router's and the
    app's dependencies too)."""
    names: set[str] = set()
    for info, name in _query_fields(route.dependant):
        model = _model_type(info.annotation)
        if model is None:
            names.update(_request_names(info, name))
            continue
        by_name = bool(
            model.model_config.get("populate_by_name") or model.model_config.get("validate_by_name")
        )
        for field_name, model_field in model.model_fields.items():
            names.update(_request_names(model_field, field_name))
            if by_name:
                names.add(field_name)
    return frozenset(names)


def _declared_by_route(app: Any) -> dict[int, frozenset[str]]:
    """Per app, computed once: the original route's id → its names (the request's scope has the original
    route; its full dependant is the route context's)."""
    known: dict[int, frozenset[str]] | None = getattr(app.state, _STATE_KEY, None)
    if known is None:
        known = {}
        for context in iter_routes(app):
            if getattr(context, "dependant", None) is not None:
                known[id(getattr(context, "original_route", context))] = declared_query_params(context)
        setattr(app.state, _STATE_KEY, known)
    return known


def _query_fields(dependant: Dependant) -> list[tuple[FieldInfo, str]]:
    """(field info, request name) of the query parameters of `dependant` and its sub-dependencies."""
    fields = [(field.field_info, field.alias) for field in dependant.query_params]
    for sub in dependant.dependencies:
        fields.extend(_query_fields(sub))
    return fields


def _model_type(annotation: Any) -> type[BaseModel] | None:
    """A query model (`Annotated[XFilters, Query()]`, optional or not), else None."""
    if get_origin(annotation) in (Union, UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        annotation = args[0] if len(args) == 1 else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _request_names(info: FieldInfo, default: str) -> set[str]:
    alias = info.validation_alias
    if isinstance(alias, str):
        return {alias}
    if isinstance(alias, AliasChoices):
        return {choice for choice in alias.choices if isinstance(choice, str)}
    return {info.alias or default}


async def reject_unknown_query_params(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    known = _declared_by_route(request.app)
    declared_names = known.get(id(route))
    if declared_names is None:  # not reached through the app's routes: its own dependant is all there is
        declared_names = declared_query_params(route)
    unknown = sorted({name for name in request.query_params if name not in declared_names})
    if not unknown:
        return
    declared = sorted(declared_names)
    takes = f"it takes {', '.join(declared)}" if declared else "it takes none"
    raise UnprocessableEntity(
        f"Unknown query parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}: {takes}",
        errors=[
            FieldError(loc=["query", name], msg=f"unknown query parameter; {takes}", type="extra_forbidden")
            for name in unknown
        ],
    )


RejectUnknownQueryParams = Depends(reject_unknown_query_params)
