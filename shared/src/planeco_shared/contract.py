"""The conventions every service's OpenAPI document follows, applied once to what FastAPI generates.

Generated clients (openapi-typescript, openapi-python-client) are the contract's first users, so the
document says everything they need and nothing they would misread:

- every operation is named `verbNoun` from its endpoint function (`operation_id`);
- errors are RFC 9457 problems (`Problem`), 422 and 400 included, never FastAPI's `HTTPValidationError`;
- a decimal accepted as a string carries its pattern;
- list envelopes are named `XPage` (`ActionReadPage`), not pydantic's `Page_ActionRead_`;
- a request body's field that has a server default is documented as such, without `default` in the schema:
  openapi-typescript's default mode turns any field with a `default` into a required one;
- each JSON response carries an example, composed from its fields' own examples (a plausible value where a
  field has none); a test validates every example against its schema;
- responses declare their headers: `X-Request-ID` on all, `ETag` and `Cache-Control` (and the 304) on cached
  public reads, `ETag` where a resource is updated with `If-Match`, `Location` on a 201 (and
  `Idempotent-Replayed` where it takes `Idempotency-Key`), `Retry-After` on the 503 that any operation may
  answer when the database is unavailable.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic.json_schema import models_json_schema

from planeco_shared.problems import Problem, problem_responses

SCHEMA_REF = "#/components/schemas/"
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
# What a Decimal input accepts as a string, in plain notation: pydantic documents `{"type": "string"}`
# alone, which would promise that any string is a number.
DECIMAL_STRING_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
_PAGE_NAME = re.compile(r"^Page_(\w+)_$")


def operation_id(route: APIRoute) -> str:
    """The operation's name in generated clients: its endpoint function's, in camelCase
    (`get_region_panorama` → `getRegionPanorama`): short, stable, unique across the merged contract."""
    head, *rest = route.name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def header(description: str, *, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "schema": schema or {"type": "string"}}


REQUEST_ID = header("The request's id (yours when you sent a sane `X-Request-ID`): quote it when reporting")
ETAG = header("The resource's current revision: send it as `If-Match` to change it")
CACHED_ETAG = header("Strong validator of this representation: send it as `If-None-Match` to revalidate")
CACHE_CONTROL = header("`public, max-age=…, must-revalidate`")
LOCATION = header("The created resource's path")
REPLAYED = header(
    "`true` when this is the stored response to an earlier request with the same `Idempotency-Key`"
)
RETRY_AFTER = header("Seconds to wait before retrying", schema={"type": "integer", "minimum": 0})


def finish(document: dict[str, Any], *, cached: set[tuple[str, str]]) -> dict[str, Any]:
    """Apply the conventions to a service's document; `cached` lists the (path, method) of the public
    cached reads (`planeco_shared.caching.public_cache`)."""
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    _, definitions = models_json_schema([(Problem, "validation")], ref_template=SCHEMA_REF + "{model}")
    for name, model_schema in definitions.get("$defs", {}).items():
        schemas.setdefault(name, model_schema)
    revised = _revised_paths(document)
    for path, method, operation in _operations(document):
        responses: dict[str, Any] = operation.setdefault("responses", {})
        if "422" in responses:
            responses["422"] = problem_responses(422)[422]
        # A body that is not even text (invalid UTF-8) is a 400 problem; malformed JSON is a 422.
        if "application/json" in operation.get("requestBody", {}).get("content", {}):
            responses.setdefault("400", problem_responses(400)[400])
        responses.setdefault("503", problem_responses(503)[503])
        responses["503"].setdefault("headers", {})["Retry-After"] = RETRY_AFTER
        if (path, method) in cached:
            _headers(responses, "200")["ETag"] = CACHED_ETAG
            _headers(responses, "200")["Cache-Control"] = CACHE_CONTROL
            responses.setdefault(
                "304",
                {
                    "description": "Not modified: your copy (`If-None-Match`) is current",
                    "headers": {"ETag": CACHED_ETAG, "Cache-Control": CACHE_CONTROL},
                },
            )
        elif path in revised and method in ("get", "put", "patch", "post"):
            for status in ("200", "201"):
                if status in responses:
                    _headers(responses, status)["ETag"] = ETAG
        if "201" in responses:
            _headers(responses, "201")["Location"] = LOCATION
            if any(
                p.get("in") == "header" and p.get("name") == "Idempotency-Key"
                for p in operation.get("parameters", [])
            ):
                _headers(responses, "201")["Idempotent-Replayed"] = REPLAYED
        for response in responses.values():
            response.setdefault("headers", {})["X-Request-ID"] = REQUEST_ID
    _document_decimal_strings(schemas)
    _document_decimal_strings(document.get("paths", {}))  # query parameters too
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    _document_request_defaults(document)
    _add_response_examples(document)
    return rename_schemas(
        document, {name: f"{match[1]}Page" for name in schemas if (match := _PAGE_NAME.match(name))}
    )


def cached_operations(app: FastAPI) -> set[tuple[str, str]]:
    from planeco_shared.caching import public_cache_routes

    return {(route.path, method.lower()) for route in public_cache_routes(app) for method in route.methods}


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in HTTP_METHODS and isinstance(operation, dict):
                yield path, method, operation


def _headers(responses: dict[str, Any], status: str) -> dict[str, Any]:
    headers: dict[str, Any] = responses.setdefault(status, {"description": "OK"}).setdefault("headers", {})
    return headers


def _revised_paths(document: dict[str, Any]) -> set[str]:
    """Paths whose resource is changed with `If-Match`: their reads and writes carry its ETag."""
    return {
        path
        for path, _method, operation in _operations(document)
        if any(
            p.get("in") == "header" and p.get("name") == "If-Match" for p in operation.get("parameters", [])
        )
    }


def rename_schemas(document: dict[str, Any], renames: dict[str, str]) -> dict[str, Any]:
    """Rename component schemas and every reference to them."""
    if not renames:
        return document
    renamed: dict[str, Any] = rewrite_refs(document, renames)
    schemas = renamed["components"]["schemas"]
    renamed["components"]["schemas"] = {renames.get(name, name): schema for name, schema in schemas.items()}
    for new in renames.values():
        renamed["components"]["schemas"][new]["title"] = new
    return renamed


def rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMA_REF):
                name = value.removeprefix(SCHEMA_REF)
                out[key] = SCHEMA_REF + renames.get(name, name)
            else:
                out[key] = rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [rewrite_refs(item, renames) for item in node]
    return node


def _document_decimal_strings(node: Any) -> None:
    """In every `anyOf` of a number and a bare string (pydantic's shape for a Decimal input), give the
    string its pattern."""
    if isinstance(node, dict):
        branches = node.get("anyOf")
        if isinstance(branches, list) and any(
            isinstance(b, dict) and b.get("type") == "number" for b in branches
        ):
            for branch in branches:
                if isinstance(branch, dict) and branch.get("type") == "string" and len(branch) == 1:
                    branch["pattern"] = DECIMAL_STRING_PATTERN
        for value in node.values():
            _document_decimal_strings(value)
    elif isinstance(node, list):
        for value in node:
            _document_decimal_strings(value)


def _referenced(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMA_REF):
                yield value.removeprefix(SCHEMA_REF)
            else:
                yield from _referenced(value)
    elif isinstance(node, list):
        for item in node:
            yield from _referenced(item)


def _closure(names: set[str], schemas: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        pending.extend(_referenced(schemas[name]))
    return seen


def _document_request_defaults(document: dict[str, Any]) -> None:
    """Request-only schemas keep their defaults in words: `"default"` would make openapi-typescript mark
    the field required, when the client may leave it out."""
    schemas: dict[str, Any] = document["components"]["schemas"]
    operations = [operation for _path, _method, operation in _operations(document)]
    read = _closure({n for op in operations for n in _referenced(op.get("responses", {}))}, schemas)
    written = _closure({n for op in operations for n in _referenced(op.get("requestBody", {}))}, schemas)
    for name in written - read:
        for field in schemas[name].get("properties", {}).values():
            if "default" in field:
                default = field.pop("default")
                shown = "none" if default is None else f"`{default}`" if default != "" else "empty"
                text = field.get("description", "")
                field["description"] = (text + " " if text else "") + f"Default: {shown}."


# Values a string field without an example may take, tried in order against its pattern.
_PLAUSIBLE_CODES = ("24", "0", "2024-07-24", "45234", "244500468", "augm_voitelec")
_FORMATS = {
    "date-time": "2026-12-01T10:00:00Z",
    "date": "2026-12-01",
    "uuid": "0b9f6c1e-6d0a-4b8e-9d7c-2f1e3a4b5c6d",
    "uri": "https://planeco.beta.gouv.fr/",
}


def _add_response_examples(document: dict[str, Any]) -> None:
    schemas: dict[str, Any] = document["components"]["schemas"]
    for _path, _method, operation in _operations(document):
        for status, response in operation.get("responses", {}).items():
            media = response.get("content", {}).get("application/json")
            if media is None or "example" in media or not status.startswith("2"):
                continue
            example = example_of(media.get("schema", {}), schemas)
            if example is not None:
                media["example"] = example


def example_of(schema: dict[str, Any], schemas: dict[str, Any], depth: int = 0) -> Any:
    """A value of `schema` built from its examples (None when there is nothing sensible to show)."""
    if depth > 12:
        return None
    if "$ref" in schema:
        return example_of(schemas.get(schema["$ref"].removeprefix(SCHEMA_REF), {}), schemas, depth + 1)
    if schema.get("examples"):
        return schema["examples"][0]
    if "example" in schema:
        return schema["example"]
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            branches = [b for b in schema[key] if b.get("type") != "null"] or schema[key]
            return example_of(branches[0], schemas, depth + 1)
    if "allOf" in schema:
        return example_of(schema["allOf"][0], schemas, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            name: example_of(field, schemas, depth + 1)
            for name, field in schema.get("properties", {}).items()
            if name in schema.get("required", []) or "examples" in field
        }
    if kind == "array":
        item = example_of(schema.get("items", {}), schemas, depth + 1)
        return [] if item is None else [item]
    if kind == "string":
        if schema.get("format") in _FORMATS:
            return _FORMATS[schema["format"]]
        pattern = schema.get("pattern")
        if pattern is None:
            return "string"
        return next((v for v in _PLAUSIBLE_CODES if re.search(pattern, v)), None)
    if kind == "integer":
        return max(0, schema.get("minimum", 0))
    if kind == "number":
        return 0
    if kind == "boolean":
        return True
    return None
