"""The typed service clients against the real services (served on loopback by the shared fixtures)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import pytest

from planeco_shared.clients.actions import ActionsClient
from planeco_shared.clients.diagnostic import DiagnosticClient
from planeco_shared.clients.levers import LeversClient
from planeco_shared.identity import AuthMethod, Principal, Role, encode_identity
from planeco_shared.problems import NotFound, ServiceUnavailable
from planeco_shared.testing import TEST_SECRET, unused_port

ADMIN = Principal(subject="svc:test", role=Role.admin, method=AuthMethod.api_key)


async def test_actions_and_diagnostic_clients_read_what_was_written(upstreams: dict[str, str]) -> None:
    headers = {"x-planeco-identity": ""}
    async with httpx.AsyncClient(timeout=5) as http:
        actions = ActionsClient(http, base_url=upstreams["actions"], internal_secret=TEST_SECRET)
        diagnostic = DiagnosticClient(http, base_url=upstreams["diagnostic"], internal_secret=TEST_SECRET)
        # Write through the services' own API, as the gateway would, then read back through the clients.
        headers["x-planeco-identity"] = encode_identity(ADMIN, TEST_SECRET)
        created = await http.post(
            f"{upstreams['actions']}/api/v1/actions",
            json={
                "title": "Covoiturage domicile-travail",
                "territory": {"level": "region", "code": "11"},
                "lever_id": "augm_covoit",
                "impacts": [{"lever_id": "augm_covoit", "ktco2e": "42.5000"}],
            },
            headers=headers,
        )
        assert created.status_code == 201, created.text
        action = await actions.get_action(uuid.UUID(created.json()["id"]), principal=ADMIN)
        assert action.expected_impact_ktco2e == Decimal("42.5")
        listed = await actions.list_actions(principal=ADMIN, region="11", lever_id="augm_covoit")
        assert [a.id for a in listed.items] == [action.id]

        questionnaire = await http.post(
            f"{upstreams['diagnostic']}/api/v1/questionnaires",
            json={"title": "Diagnostic IdF", "owner": {"level": "region", "code": "11"}},
            headers=headers,
        )
        assert questionnaire.status_code == 201, questionnaire.text
        read = await diagnostic.get_questionnaire(uuid.UUID(questionnaire.json()["id"]), principal=ADMIN)
        assert read.owner is not None and (read.owner.level, read.owner.code) == ("region", "11")
        assert (read.edition, read.lineage_id, read.locked_at) == (1, read.id, None)

        with pytest.raises(NotFound):
            await actions.get_action(uuid.uuid4(), principal=ADMIN)


async def test_an_unreachable_service_is_a_503_problem_after_retries() -> None:
    async with httpx.AsyncClient(timeout=1) as http:
        levers = LeversClient(
            http, base_url=f"http://127.0.0.1:{unused_port()}", internal_secret=TEST_SECRET, attempts=2
        )
        with pytest.raises(ServiceUnavailable):
            await levers.get_region("24", principal=ADMIN)
