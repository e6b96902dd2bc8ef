"""The fake Aides-territoires, over HTTP as its own process: the documented contract and its quirks."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt

from planeco_actions.aids.fake.catalogue import generate_aid


async def token(http: httpx.AsyncClient, key: str) -> str:
    response = await http.post("/api/connexion/", headers={"X-AUTH-TOKEN": key})
    assert response.status_code == 200, response.text
    value: str = response.json()["token"]
    return value


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


async def test_the_api_key_is_exchanged_for_a_jwt_valid_24_hours(fake: Any) -> None:
    async with httpx.AsyncClient(base_url=fake.url) as http:
        value = await token(http, fake.api_key)
        claims = jwt.decode(value, options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 86_400
        assert claims["username"] == "bot@example.org"
        refused = await http.post("/api/connexion/", headers={"X-AUTH-TOKEN": "0" * 64})
        assert (refused.status_code, refused.json()) == (401, {"message": "User not found"})
        empty = await http.post("/api/connexion/", headers={"X-AUTH-TOKEN": ""})
        assert empty.json() == {"message": "No API token provided"}


async def test_data_routes_need_the_bearer_and_answer_a_token_to_an_api_key(fake: Any) -> None:
    async with httpx.AsyncClient(base_url=fake.url) as http:
        missing = await http.get("/api/aids/all/")
        assert (missing.status_code, missing.json()) == (401, {"code": 401, "message": "JWT Token not found"})
        invalid = await http.get("/api/aids/all/", headers=bearer("not.a.jwt"))
        assert invalid.json()["message"] == "Invalid JWT Token"
        # The real authenticator's gotcha: an API key on a data route gets a token, not data.
        wrong = await http.get("/api/aids/all/", headers={"X-AUTH-TOKEN": fake.api_key})
        assert set(wrong.json()) == {"token"}
        assert (await fake.stats())["x_auth_token_on_data"] == 1
        unslashed = await http.get("/api/aids", params={"page": "2"})
        assert (unslashed.status_code, unslashed.headers["location"]) == (301, "/api/aids/?page=2")


async def test_pages_are_capped_at_100_and_next_drops_repeated_filters(fake: Any) -> None:
    async with httpx.AsyncClient(base_url=fake.url) as http:
        auth = bearer(await token(http, fake.api_key))
        first = (await http.get("/api/aids/all/", params={"itemsPerPage": "500"}, headers=auth)).json()
        assert (first["count"], len(first["results"]), first["previous"]) == (230, 100, None)
        assert parse_qs(urlsplit(first["next"]).query) == {"itemsPerPage": ["500"], "page": ["2"]}
        last = (await http.get("/api/aids/all/", params={"page": "3", "size": "100"}, headers=auth)).json()
        assert (len(last["results"]), last["next"]) == (30, None)
        ids = [r["id"] for r in first["results"]]
        assert ids == sorted(ids, reverse=True)
        default = (await http.get("/api/aids/all/", headers=auth)).json()
        assert len(default["results"]) == 50
        both = [("organization_type_slugs", "commune"), ("organization_type_slugs", "farmer")]
        page = (await http.get("/api/aids/", params=[*both, ("itemsPerPage", "10")], headers=auth)).json()
        assert parse_qs(urlsplit(page["next"]).query)["organization_type_slugs"] == ["farmer"]
        past = (await http.get("/api/aids/all/", params={"page": "9"}, headers=auth)).json()
        assert (past["results"], past["next"]) == ([], None)


async def test_the_catalogue_is_generated_from_the_real_records_shape(fake: Any) -> None:
    today = dt.date(2026, 6, 15)
    assert generate_aid(3, 4, today=today) == generate_aid(3, 4, today=today)
    async with httpx.AsyncClient(base_url=fake.url) as http:
        auth = bearer(await token(http, fake.api_key))
        response = await http.get("/api/aids/all/", params={"itemsPerPage": "100"}, headers=auth)
        assert "\\u00e9" in response.text  # non-ASCII escaped, as the real API does
        records = response.json()["results"]
    complete = [r for r in records if "aid_types_full" in r]
    partial = [r for r in records if "aid_types_full" not in r]
    assert partial and all(r["date_updated"] is None for r in partial)
    assert any(" / " in c.split(" / ", 1)[1] for r in complete for c in r["categories"])
    assert any("&nbsp;" in (r["description"] or "") for r in complete)
    assert any("<script>" in (r["description"] or "") for r in complete)
    assert any(r["date_updated"].endswith("+02:00") and "." in r["date_updated"] for r in complete)
    assert any(r["date_updated"].endswith("+00:00") for r in complete)
    assert all("[catalogue généré, aide fictive]" in r["name"] for r in records)


async def test_quirks_errors_expiring_tokens_and_changes(fake: Any) -> None:
    async with httpx.AsyncClient(base_url=fake.url) as http:
        auth = bearer(await token(http, fake.api_key))
        await fake.quirks(error_every=2)
        statuses = [(await http.get("/api/aids/all/", headers=auth)).status_code for _ in range(4)]
        assert statuses == [500, 200, 500, 200] or statuses == [200, 500, 200, 500]
        await fake.quirks(error_every=None, token_uses=1)
        auth = bearer(await token(http, fake.api_key))
        assert (await http.get("/api/aids/all/", headers=auth)).status_code == 200
        expired = await http.get("/api/aids/all/", headers=auth)
        assert expired.json() == {"code": 401, "message": "Expired JWT Token"}
        await fake.quirks(token_uses=None, fail_from_page=2)
        assert (await http.get("/api/aids/all/", params={"page": "2"}, headers=auth)).status_code == 500
        await fake.quirks(fail_from_page=None)

        before = (await http.get("/api/aids/by-id/170001/", headers=auth)).json()
        changed = await fake.change(update=[170001], remove=[170008], add=2)
        assert (changed["added"], changed["live"]) == ([171611, 171618], 231)
        after = (await http.get("/api/aids/by-id/170001/", headers=auth)).json()
        assert after["date_updated"] != before["date_updated"]
        assert after["name"].startswith(before["name"].split(" [")[0])
        removed = (await http.get("/api/aids/by-id/170008/", headers=auth)).json()
        assert removed["is_live"] is False
        missing = await http.get("/api/aids/by-id/999/", headers=auth)
        assert (missing.status_code, missing.json()["detail"]) == (404, "Cette aide n'existe pas")


async def test_perimeters_carry_codes_and_resolve_by_id_or_slug(fake: Any) -> None:
    async with httpx.AsyncClient(base_url=fake.url) as http:
        auth = bearer(await token(http, fake.api_key))
        regions = (await http.get("/api/perimeters/", params={"scale": "region"}, headers=auth)).json()
        # The 18 régions of the COG 2026 (the repository's territories), with their INSEE codes.
        assert regions["count"] == 18 and {"24", "84", "76", "04"} <= {r["code"] for r in regions["results"]}
        loiret = (await http.get("/api/perimeters/", params={"q": "loiret"}, headers=auth)).json()
        assert "CC de la Plaine du Nord Loiret" in {
            p["name"] for p in loiret["results"]
        }  # the word, anywhere
        loiret = (
            await http.get("/api/perimeters/", params={"q": "loiret", "scale": "department"}, headers=auth)
        ).json()
        assert loiret["results"] == [
            {
                "id": "71045-loiret",
                "text": "Loiret (Département)",
                "name": "Loiret",
                "scale": "Département",
                "zipcodes": [],
                "code": "45",
            }
        ]
        by_slug = (await http.get("/api/perimeters/70973-auvergne-rhone-alpes/", headers=auth)).json()
        assert by_slug["code"] == "84"
        commune = (await http.get("/api/perimeters/", params={"insees": "63113"}, headers=auth)).json()
        assert commune["results"][0]["text"] == "Clermont-Ferrand (Commune - 63000, 63100)"
        unknown = await http.get("/api/perimeters/1/", headers=auth)
        assert (unknown.status_code, unknown.json()["detail"]) == (404, "Périmètre non trouvé")
