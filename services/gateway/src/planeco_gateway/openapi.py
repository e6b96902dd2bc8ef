"""One public OpenAPI 3.1 document merged from the services' own documents.

Used both by the running gateway (from the services' live /openapi.json) and by
`planeco openapi export` (from the service apps in-process), so the checked-in contract and the
served one come from the same function.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from planeco_shared.contract import REQUEST_ID, rewrite_refs

SERVICE_ORDER = ("levers", "diagnostic", "actions")
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})

SECURITY_SCHEMES: dict[str, Any] = {
    "ApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "Key of a machine client (regional IT): `planeco auth create-key`.",
    },
    "Bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "RS256 access token from the OpenID Connect provider (ProConnect for agents).",
    },
    "InvitationToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Invitation-Token",
        "description": "A campaign invitee's invitation token (`/api/v1/answer…` only): a respondent "
        "without an account answers for that collectivité while the campaign is open.",
    },
}

DESCRIPTION = """\
The public API of planeco, the backend of the regional COP (conférences des parties de la
planification écologique): territories and levers, the diagnostic, the roadmaps of actions.

* Every endpoint needs credentials (`X-API-Key` or a bearer token) unless it says `security: []`.
* Errors are RFC 9457 problem details (`application/problem+json`) with a stable `code`.
* Lists are paginated with `page` and `page_size` (maximum 500) and return `total`.
* Updates need `If-Match` with the ETag read; a stale one answers 412.
* Every response carries `X-Request-ID` (send your own to correlate).
* What changed for clients, version by version: `contract/CHANGES.md` in the repository.
"""


# What the gateway itself may answer on any operation: the service broke (502) or was too slow (504).
GATEWAY_FAILURES = {
    "502": "Bad gateway: the service answered something that is not HTTP, or closed the connection",
    "504": "Gateway timeout: the service did not answer in time",
}


def _document_gateway_failures(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    for status, description in GATEWAY_FAILURES.items():
        responses.setdefault(
            status,
            {
                "description": description,
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
                "headers": {"X-Request-ID": REQUEST_ID},
            },
        )


# The public contract's version: bumped with every change a client sees, listed in contract/CHANGES.md.
CONTRACT_VERSION = "0.4.0"


def merge(documents: dict[str, dict[str, Any]], *, version: str = CONTRACT_VERSION) -> dict[str, Any]:
    """Merge the services' documents (keyed by service name). Schemas with the same name and the same
    definition are shared; a clash is resolved by prefixing the later service's name."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    tags: list[dict[str, Any]] = []
    seen_tags: set[str] = set()
    operation_ids: set[str] = set()
    for service in [s for s in SERVICE_ORDER if s in documents] + sorted(set(documents) - set(SERVICE_ORDER)):
        doc = copy.deepcopy(documents[service])
        own_schemas: dict[str, Any] = doc.get("components", {}).get("schemas", {})
        renames = {
            name: f"{service.capitalize()}{name}"
            for name, schema in own_schemas.items()
            if name in schemas and schemas[name] != schema
        }
        for name, schema in own_schemas.items():
            schemas[renames.get(name, name)] = rewrite_refs(schema, renames)
        for path, item in rewrite_refs(doc.get("paths", {}), renames).items():
            if path in paths:
                raise ValueError(f"path {path} is declared by two services")
            for method, operation in item.items():
                if method in HTTP_METHODS:
                    operation.setdefault("x-service", service)
                    _document_gateway_failures(operation)
                    operation_id = operation.get("operationId")
                    if operation_id is not None and operation_id in operation_ids:
                        raise ValueError(f"operationId {operation_id} is used by two operations")
                    operation_ids.add(operation_id)
            paths[path] = item
        for tag in doc.get("tags", []) or []:
            if tag["name"] not in seen_tags:
                seen_tags.add(tag["name"])
                tags.append(tag)
        for item in doc.get("paths", {}).values():
            for method, operation in item.items():
                for tag in operation.get("tags", []) if method in HTTP_METHODS else []:
                    if tag not in seen_tags:
                        seen_tags.add(tag)
                        tags.append({"name": tag, "x-service": service})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "planeco API",
            "version": version,
            "description": DESCRIPTION,
            # The figures the API publishes are open data; the SGPE's and INSEE's sources say theirs.
            "license": {"name": "Licence Ouverte 2.0 (Etalab)", "identifier": "etalab-2.0"},
        },
        "servers": [{"url": "/"}],
        "security": [{"ApiKey": []}, {"Bearer": []}],
        "tags": tags,
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items())), "securitySchemes": SECURITY_SCHEMES},
    }


def dumps(document: dict[str, Any]) -> str:
    """The canonical text of the checked-in contract."""
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
