"""A coordinator scoped to a département (`departement:45`), end to end: an API key issued as
`planeco auth create-key --role coordinator --territory departement:45` does, the real gateway signing its
identity, the real services deciding with `planeco_shared.scopes`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from planeco.cli import app as planeco_cli


def action(level: str, code: str, title: str) -> dict[str, Any]:
    return {"title": title, "territory": {"level": level, "code": code}, "lever_id": "augm_haies"}


@pytest.mark.asyncio(loop_scope="session")
async def test_a_departement_coordinator_reads_its_region_and_may_not_act_on_it(
    gateway: str, make_key: Any
) -> None:
    admin = {"X-API-Key": await make_key("admin")}
    loiret = {"X-API-Key": await make_key("coordinator", "departement:45")}
    centre = {"X-API-Key": await make_key("coordinator", "24")}
    async with httpx.AsyncClient(base_url=gateway, timeout=20) as http:
        in_centre = await http.post(
            "/api/v1/actions", json=action("region", "24", "Haies du Centre"), headers=admin
        )
        in_normandie = await http.post(
            "/api/v1/actions", json=action("region", "28", "Haies normandes"), headers=admin
        )
        assert in_centre.status_code == in_normandie.status_code == 201
        ids = {in_centre.json()["id"], in_normandie.json()["id"]}

        # Reads: its région's work, as every participant of the région's COP; not another région's.
        listed = await http.get("/api/v1/actions", params={"page_size": 500}, headers=loiret)
        assert listed.status_code == 200, listed.text
        seen = {item["id"] for item in listed.json()["items"]} & ids
        assert seen == {in_centre.json()["id"]}
        hidden = await http.get(f"/api/v1/actions/{in_normandie.json()['id']}", headers=loiret)
        assert hidden.status_code == 404

        # Writes on the région itself are its région's coordinators', not a département's.
        refused = await http.post(
            "/api/v1/actions", json=action("region", "24", "Haies du Loiret"), headers=loiret
        )
        assert refused.status_code == 403, refused.text
        assert "region 24" in refused.json()["detail"]
        etag = in_centre.headers["etag"]
        url = f"/api/v1/actions/{in_centre.json()['id']}"
        patched = await http.patch(url, json={"title": "Autre"}, headers=loiret | {"If-Match": etag})
        assert patched.status_code == 403
        # Nor a neighbouring région's.
        elsewhere = await http.post("/api/v1/actions", json=action("region", "28", "Haies"), headers=loiret)
        assert elsewhere.status_code == 403
        # Nor a neighbouring département of its région (the Cher).
        cher = await http.post("/api/v1/actions", json=action("departement", "18", "Haies"), headers=loiret)
        assert cher.status_code == 403, cher.text

        # Its own département and what lies in it (Orléans Métropole, Saran) are its to write.
        for level, code in (("departement", "45"), ("epci", "244500468"), ("commune", "45302")):
            own = await http.post(
                "/api/v1/actions", json=action(level, code, "Haies du Loiret"), headers=loiret
            )
            assert own.status_code == 201, own.text
            assert own.json()["territory"]["code"] == code
            renamed = await http.patch(
                f"/api/v1/actions/{own.json()['id']}",
                json={"title": "Haies bocagères du Loiret"},
                headers=loiret | {"If-Match": own.headers["etag"]},
            )
            assert renamed.status_code == 200, renamed.text
        # The région's coordinator still may.
        allowed = await http.patch(
            url, json={"title": "Haies du Centre-Val de Loire"}, headers=centre | {"If-Match": etag}
        )
        assert allowed.status_code == 200, allowed.text


def test_the_cli_issues_departement_keys_and_refuses_other_forms(databases: dict[str, str]) -> None:
    runner = CliRunner()
    env = {"PLANECO_GATEWAY_DATABASE_URL": databases["gateway"]}
    issued = runner.invoke(
        planeco_cli, ["auth", "create-key", "--role", "coordinator", "--territory", "departement:45"], env=env
    )
    assert issued.exit_code == 0, issued.output
    assert issued.output.strip().splitlines()[-1].startswith("planeco_")
    region = runner.invoke(
        planeco_cli, ["auth", "create-key", "--role", "coordinator", "--territory", "24"], env=env
    )
    assert region.exit_code == 0, region.output
    wrong = runner.invoke(
        planeco_cli, ["auth", "create-key", "--role", "coordinator", "--territory", "departement:4"], env=env
    )
    assert wrong.exit_code == 2 and "departement:45" in wrong.output
