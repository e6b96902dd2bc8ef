"""The public contract: checked in, valid OpenAPI 3.1, and consistent with the gateway's routing."""

from __future__ import annotations

import json
from typing import Any

from openapi_spec_validator import validate

from planeco.contract import CONTRACT_PATH, build
from planeco_gateway.openapi import HTTP_METHODS, merge
from planeco_gateway.routes import AREAS, area_of


def contract() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
    return document


def test_checked_in_contract_matches_the_code() -> None:
    assert CONTRACT_PATH.read_text(encoding="utf-8") == build(), (
        "run `planeco openapi export` and review the diff"
    )


def test_contract_is_valid_openapi_31() -> None:
    document = contract()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_path_is_routed_by_the_gateway_to_the_service_that_declares_it() -> None:
    for path, item in contract()["paths"].items():
        area = area_of(path)
        assert area in AREAS, f"{path}: the gateway routes no area {area!r}"
        for method, operation in item.items():
            if method in HTTP_METHODS:
                assert operation["x-service"] == AREAS[area], f"{method.upper()} {path}"


def test_operations_are_authenticated_unless_deliberately_public() -> None:
    document = contract()
    assert document["security"] == [{"ApiKey": []}, {"Bearer": []}]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            public = operation.get("security") == []
            if not public:
                assert "401" in operation["responses"], f"{method.upper()} {path} does not document 401"
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and status != "422":
                    assert "application/problem+json" in response.get("content", {}), (method, path, status)


def test_no_write_is_public() -> None:
    """The gateway refuses an anonymous write before reading its body (planeco_gateway.proxy.SAFE): a public
    write would need the gateway to learn which ones are."""
    from planeco_gateway.proxy import SAFE

    public_writes = [
        f"{method.upper()} {path}"
        for path, item in contract()["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS and method.upper() not in SAFE and operation.get("security") == []
    ]
    assert public_writes == []


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in contract()["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def test_what_a_client_may_receive_is_documented() -> None:
    conditional = set()
    for method, path, operation in operations():
        responses = operation["responses"]
        if "application/json" in operation.get("requestBody", {}).get("content", {}):
            assert "400" in responses, f"{method} {path}: an unparsable JSON body is a 400"
        if "428" in responses:  # the write checks a precondition: its headers are in the contract
            headers = {
                p["name"]: p["required"] for p in operation.get("parameters", []) if p["in"] == "header"
            }
            assert "If-Match" in headers, f"{method} {path}"
            # A PUT may create (If-Match optional), except one that replaces a part of an existing resource.
            replaces = path.endswith(("/restore", "/document", "/recompute", "/promote"))
            required = method in ("PATCH", "DELETE") or replaces
            assert headers["If-Match"] is required, f"{method} {path}"
            conditional.add((method, path))
    assert {("PATCH", "/api/v1/actions/{action_id}"), ("PUT", "/api/v1/aids/lever-mapping")} <= conditional


def test_decimal_strings_are_documented_with_their_pattern() -> None:
    def number_or_string(node: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        if isinstance(node, dict):
            branches = node.get("anyOf", [])
            if any(b.get("type") == "number" for b in branches):
                found += [b for b in branches if b.get("type") == "string"]
            for value in node.values():
                found += number_or_string(value)
        elif isinstance(node, list):
            for value in node:
                found += number_or_string(value)
        return found

    strings = number_or_string(contract()["components"]["schemas"])
    # costs, budget amounts and impacts of actions, the adjustment's four figures, a progress update's three
    assert len(strings) == 12
    strings += number_or_string(contract()["paths"])
    assert len(strings) == 14  # and the two query parameters of the conversion
    assert {s.get("pattern") for s in strings} == {r"^[+-]?(\d+(\.\d*)?|\.\d+)$"}


def test_every_history_reads_as_the_one_shared_shape_and_no_schema_clashed() -> None:
    document = contract()
    histories = {
        path: item["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        for path, item in document["paths"].items()
        if path.endswith("/history")
    }
    assert {"/api/v1/actions/{action_id}/history"} <= set(histories)  # and every other history
    assert set(histories.values()) == {"#/components/schemas/HistoryEntryPage"}
    schemas = document["components"]["schemas"]
    # merge() prefixes the service's name to a schema that clashes: none may have needed it.
    prefixes = [service.capitalize() for service in ("levers", "diagnostic", "actions")]
    renamed = [n for n in schemas for p in prefixes if n.startswith(p) and n.removeprefix(p) in schemas]
    assert renamed == []


def test_merge_renames_clashing_schemas_and_rewrites_their_references() -> None:
    def doc(path: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "paths": {
                path: {
                    "get": {
                        "responses": {
                            "200": {
                                "content": {
                                    "application/json": {"schema": {"$ref": "#/components/schemas/Item"}}
                                }
                            }
                        }
                    }
                }
            },
            "components": {"schemas": {"Item": schema, "Problem": {"type": "object"}}},
        }

    merged = merge(
        {
            "levers": doc("/api/v1/levers", {"type": "string"}),
            "actions": doc("/api/v1/actions", {"type": "integer"}),
        }
    )
    schemas = merged["components"]["schemas"]
    assert schemas["Item"] == {"type": "string"}
    assert schemas["ActionsItem"] == {"type": "integer"}
    assert set(schemas) == {"Item", "ActionsItem", "Problem"}
    ref = merged["paths"]["/api/v1/actions"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]
    assert ref == {"$ref": "#/components/schemas/ActionsItem"}


def test_every_example_validates_against_its_schema_and_every_json_response_has_one() -> None:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    document = contract()
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource("urn:planeco", resource)
    checked, missing = 0, []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation.get("responses", {}).items():
                media = response.get("content", {}).get("application/json")
                if media is None:
                    continue
                if "example" not in media:
                    missing.append(f"{method} {path} {status}")
                    continue
                # The response's schema, its references resolved in the whole document.
                schema = json.loads(
                    json.dumps(media["schema"]).replace('"#/components/', '"urn:planeco#/components/')
                )
                errors = list(Draft202012Validator(schema, registry=registry).iter_errors(media["example"]))
                assert not errors, (method, path, status, [e.message for e in errors][:3])
                checked += 1
    assert missing == []
    assert checked > 40
