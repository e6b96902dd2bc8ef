"""Who may do what in the diagnostic, through the real gateway to the real services: one row per route the
diagnostic service serves (a route of the contract without a row fails
`test_every_diagnostic_route_has_a_matrix_row`), each called by every kind of caller, against the status the
issue's permissions give: admin everything; a coordinator the campaigns of its région (404 for another
région's); a contributor its own collectivité's response and the public reads; an invitation token its own
response only (and its questionnaire); reader and anonymous the published syntheses.

Where a route needs more than the issue says: a campaign, its invitees and the questionnaire templates are
read by whoever sees the campaign's région (contributors answer from them, readers find the published
syntheses there); a response is written by its collectivité (contributor or token) or an admin, while the
coordinators reopen it and import files; a contributor keeps its own collectivité's contacts.

The callers to refuse go first, all at once on one prepared state (a refusal changes nothing), so that no
refusal rests on what an allowed call did; then each allowed caller on a state prepared for it (its own
questionnaire, contact or response state)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from planeco.contract import CONTRACT_PATH
from planeco_gateway.openapi import HTTP_METHODS

from .test_diagnostic_e2e import CENTRE_EPCI_ORLEANS, run_job

API = "/api/v1"
SMALL = Path(__file__).parents[1] / "services/diagnostic/tests/data/questionnaire-small.json"
DOCUMENT = json.loads(SMALL.read_text(encoding="utf-8"))
ORLEANS = CENTRE_EPCI_ORLEANS  # an invitee of the campaign: its contributor answers for it
TOURS = "243700754"  # Tours Métropole Val de Loire: another invitee of the same campaign
TOULOUSE = "243100518"  # Toulouse Métropole: a collectivité of another région (Occitanie)
LOIRET, CHER = "45", "18"  # the token's invitee; the invitee whose token and mails the rows rotate
ANSWER = {"bus-decarbones": {"pertinence": "pertinent", "mobilisation": "en_cours"}}

CALLERS = (
    "admin",
    "centre",  # coordinator of the campaign's région
    "occitanie",  # coordinator of another région
    "orleans",  # contributor of an invitee
    "tours",  # contributor of another invitee
    "toulouse",  # contributor of a collectivité elsewhere
    "reader",
    "anonymous",
    "token",  # the Loiret's invitation token for the campaign
    "other_token",  # the Loiret's invitation token for another campaign
)
OK = 200  # in a row: any 2xx
NO_CREDENTIAL = {"anonymous": 401, "token": 401, "other_token": 401}


def statuses(default: int, **by_caller: int) -> dict[str, int]:
    unknown = set(by_caller) - set(CALLERS)
    assert not unknown, unknown
    return {name: by_caller.get(name, default) for name in CALLERS}


AUTHENTICATED = statuses(OK, **NO_CREDENTIAL)
EVERYONE = statuses(OK)
NOBODY = statuses(404)
# Managers' operations (a coordinator role required first: 403 for the others, 404 for another région's).
MANAGE = statuses(403, admin=OK, centre=OK, occitanie=404, **NO_CREDENTIAL)
# The same where the campaign is located before the role is asked: 404 too for whoever may not see it.
MANAGE_LOCATED = MANAGE | {"toulouse": 404}
# The campaign's managers only, 404 for anyone else (an unpublished synthesis, the individual answers).
MANAGERS_ONLY = statuses(404, admin=OK, centre=OK, **NO_CREDENTIAL)
# A campaign's own reads: whoever sees its région (readers: the whole nation).
CAMPAIGN_READ = statuses(OK, occitanie=404, toulouse=404, **NO_CREDENTIAL)
RESPONSE_READ = statuses(403, admin=OK, centre=OK, orleans=OK, occitanie=404, toulouse=404, **NO_CREDENTIAL)
RESPONSE_WRITE = RESPONSE_READ | {"centre": 403}  # written by its collectivité (or an admin), not for it
# Questionnaire templates of the Centre-Val de Loire: read by any authenticated caller, changed by its own.
TEMPLATE_WRITE = statuses(403, admin=OK, centre=OK, **NO_CREDENTIAL)
CONTACT_READ = statuses(404, admin=OK, centre=OK, orleans=OK, reader=403, **NO_CREDENTIAL)
TOKEN_ONLY = statuses(404, token=OK, other_token=OK)
JOBS = statuses(403, admin=OK, **NO_CREDENTIAL)


@dataclass
class Call:
    """One request of a row: what fills the route's parameters, and what it sends."""

    ids: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None


@dataclass
class World:
    """The stack's state the rows act on, and each caller's credentials."""

    http: httpx.AsyncClient
    callers: dict[str, dict[str, str]]
    questionnaire: str  # national, used by both campaigns
    campaign: str  # the Centre-Val de Loire's campaign the rows act on, published along the way
    other: str  # another campaign of the Centre-Val de Loire, never published
    contact: str  # Orléans Métropole's contact
    cher_email: str  # the Cher's contact: the mails the rows queue go there
    run: str  # a diagnostic job run
    tokens: dict[str, str]  # caller → the campaign its token opens

    @property
    def admin(self) -> dict[str, str]:
        return self.callers["admin"]

    def ids(self) -> dict[str, str]:
        return {
            "campaign_id": self.campaign,
            "questionnaire_id": self.questionnaire,
            "code": ORLEANS,
            "contact_id": self.contact,
            "run_id": self.run,
        }

    async def ok(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """A setup request by an admin, which must succeed."""
        kwargs["headers"] = self.admin | kwargs.get("headers", {})
        answer = await self.http.request(method, url, **kwargs)
        assert answer.is_success, (method, url, answer.text)
        return answer

    async def response(self, campaign: str, code: str, status: str) -> str:
        """Bring an invitee's response to `draft` (answered, not submitted) or `submitted`: its ETag."""
        url = f"{API}/campaigns/{campaign}/responses/{code}"
        current = await self.ok("GET", url)
        if current.json()["status"] == "submitted":
            current = await self.ok("POST", f"{url}/reopening")
        saved = await self.ok(
            "PATCH", url, json={"answers": ANSWER}, headers={"If-Match": current.headers["etag"]}
        )
        if status == "submitted":
            saved = await self.ok("POST", f"{url}/submission")
        return saved.headers["etag"]

    async def template(self, *, published: bool = False, archived: bool = False) -> tuple[str, str]:
        """A fresh questionnaire draft of the Centre-Val de Loire: its id and ETag."""
        params = {"owner_level": "region", "owner_code": "24"}
        created = await self.ok("POST", f"{API}/questionnaires/imports", params=params, json=DOCUMENT)
        identifier, tag = created.json()["id"], created.headers["etag"]
        url = f"{API}/questionnaires/{identifier}"
        if published:
            tag = (
                await self.ok("PATCH", url, json={"status": "published"}, headers={"If-Match": tag})
            ).headers["etag"]
        if archived:
            await self.ok("DELETE", url, headers={"If-Match": tag})
            tag = (await self.ok("GET", url, params={"include_archived": "true"})).headers["etag"]
        return identifier, tag

    async def new_contact(self) -> str:
        created = await self.ok("POST", f"{API}/contacts", json=orleans_contact())
        identifier: str = created.json()["id"]
        return identifier


Prepare = Callable[[World, str], Awaitable[Call]]
Check = Callable[[World, str, httpx.Response], None]  # what a success must show


async def plain(_world: World, _caller: str) -> Call:
    return Call()


@dataclass(frozen=True)
class Row:
    method: str
    route: str  # as the diagnostic service declares it
    expected: dict[str, int]
    prepare: Prepare = plain
    check: Check | None = None
    note: str = ""  # which variant, when a route has several rows


def fixed(**values: Any) -> Prepare:
    async def prepare(_world: World, _caller: str) -> Call:
        return Call(**values)

    return prepare


def on_other(**values: Any) -> Prepare:
    async def prepare(world: World, _caller: str) -> Call:
        return Call(ids={"campaign_id": world.other}, **values)

    return prepare


WHOLE_LIST = fixed(params={"page_size": "500"})  # a list check reads it all, whatever the suite added before


def orleans_contact() -> dict[str, str]:
    return {
        "collectivite_level": "epci",
        "collectivite": ORLEANS,
        "email": f"climat.{uuid.uuid4().hex[:10]}@orleans-metropole.example.fr",
        "name": "Référent climat",
    }


# --- the preparations of the writes -------------------------------------------------------------------


async def new_campaign(world: World, caller: str) -> Call:
    today = dt.datetime.now(dt.UTC).date()
    body = {
        "questionnaire_id": world.questionnaire,
        "owner": {"level": "region", "code": "24"},
        "title": f"Diagnostic de la matrice ({caller})",
        "opening_date": str(today - dt.timedelta(days=1)),
        "closing_date": str(today + dt.timedelta(days=30)),
        "panorama_version": "2024-07-24",
        "invitees": {"departements": False, "epci_natures": []},  # the région alone: quick
    }
    return Call(json=body)


async def campaign_patch(world: World, caller: str) -> Call:
    current = await world.ok("GET", f"{API}/campaigns/{world.campaign}")
    return Call(headers={"If-Match": current.headers["etag"]}, json={"title": f"Diagnostic ({caller})"})


async def template_patch(world: World, _caller: str) -> Call:
    identifier, tag = await world.template()
    return Call(
        ids={"questionnaire_id": identifier}, headers={"If-Match": tag}, json={"description": "Modifié"}
    )


async def template_document(world: World, _caller: str) -> Call:
    identifier, tag = await world.template()
    changed = DOCUMENT | {"title": "Diagnostic de test, corrigé"}
    return Call(ids={"questionnaire_id": identifier}, headers={"If-Match": tag}, json=changed)


async def template_archive(world: World, _caller: str) -> Call:
    identifier, tag = await world.template()
    return Call(ids={"questionnaire_id": identifier}, headers={"If-Match": tag})


async def template_restore(world: World, _caller: str) -> Call:
    identifier, tag = await world.template(archived=True)
    return Call(ids={"questionnaire_id": identifier}, headers={"If-Match": tag})


async def template_edition(world: World, _caller: str) -> Call:
    identifier, _tag = await world.template(published=True)
    return Call(ids={"questionnaire_id": identifier})


async def cher_token(world: World, _caller: str) -> Call:
    await world.ok("POST", f"{API}/campaigns/{world.campaign}/invitees/{CHER}/token")
    return Call(ids={"code": CHER})


async def contact_create(_world: World, _caller: str) -> Call:
    return Call(json=orleans_contact())


async def contact_patch(world: World, caller: str) -> Call:
    current = await world.ok("GET", f"{API}/contacts/{world.contact}")
    return Call(headers={"If-Match": current.headers["etag"]}, json={"function": f"Modifié par {caller}"})


async def contact_delete(world: World, _caller: str) -> Call:
    identifier = await world.new_contact()
    current = await world.ok("GET", f"{API}/contacts/{identifier}")
    return Call(ids={"contact_id": identifier}, headers={"If-Match": current.headers["etag"]})


async def contacts_file(_world: World, _caller: str) -> Call:
    row = orleans_contact()
    content = f"collectivite_level;collectivite;email;name\nepci;{ORLEANS};{row['email']};{row['name']}\n"
    return Call(content=content.encode("utf-8"), headers={"Content-Type": "text/csv"})


async def compare_with_other(world: World, _caller: str) -> Call:
    return Call(params={"with": world.other})


async def compare_with_itself(world: World, _caller: str) -> Call:
    return Call(params={"with": world.campaign})


async def response_save(world: World, _caller: str) -> Call:
    tag = await world.response(world.campaign, ORLEANS, "draft")
    return Call(headers={"If-Match": tag}, json={"answers": {"q-freins": "Le coût"}})


async def response_submit(world: World, _caller: str) -> Call:
    await world.response(world.campaign, ORLEANS, "draft")
    return Call()


async def response_reopen(world: World, _caller: str) -> Call:
    await world.response(world.campaign, ORLEANS, "submitted")
    return Call()


async def responses_file(_world: World, _caller: str) -> Call:
    content = f"code;item;pertinence;mobilisation\n{CHER};bus-decarbones;pertinent;planifie\n"
    return Call(content=content.encode("utf-8"), headers={"Content-Type": "text/csv"})


def token_campaign(world: World, caller: str) -> str:
    """The campaign whose response a token call acts on: the caller's token's, else the token's."""
    return world.tokens.get(caller, world.campaign)


async def token_save(world: World, caller: str) -> Call:
    tag = await world.response(token_campaign(world, caller), LOIRET, "draft")
    return Call(headers={"If-Match": tag}, json={"answers": {"q-mode": "oui"}})


async def token_submit(world: World, caller: str) -> Call:
    await world.response(token_campaign(world, caller), LOIRET, "draft")
    return Call()


# --- what a success must show ---------------------------------------------------------------------------


def own_invitation(world: World, caller: str, answer: httpx.Response) -> None:
    assert (answer.json()["campaign_id"], answer.json()["code"]) == (world.tokens[caller], LOIRET)


def the_questions(_world: World, _caller: str, answer: httpx.Response) -> None:
    """Both campaigns ask the same questionnaire: a token holder reads it with no account."""
    assert answer.json()["sections"] == DOCUMENT["sections"]


def campaigns_listed(world: World, caller: str, answer: httpx.Response) -> None:
    listed = {item["id"] for item in answer.json()["items"]}
    assert (world.campaign in listed) is (CAMPAIGN_READ[caller] == OK), listed


def contacts_listed(world: World, caller: str, answer: httpx.Response) -> None:
    listed = {item["id"] for item in answer.json()["items"]}
    assert (world.contact in listed) is (CONTACT_READ[caller] == OK), listed


def contacts_exported(world: World, caller: str, answer: httpx.Response) -> None:
    assert ("orleans-metropole.example.fr" in answer.text) is (CONTACT_READ[caller] == OK)


def outbox_listed(world: World, caller: str, answer: httpx.Response) -> None:
    about_centre = any(item["to"] == world.cher_email for item in answer.json()["items"])
    assert about_centre is (caller in ("admin", "centre")), answer.json()["items"]


def synthesis_form(world: World, caller: str, answer: httpx.Response) -> None:
    """Its managers read the full synthesis; anyone else the public form (small figures suppressed)."""
    public = caller not in ("admin", "centre")
    body = answer.json()
    assert [body[key] for key in ("public", "first_public", "second_public") if key in body] in (
        [public],
        [public, public],
    ), body


# The synthesis reads, with their query and who reads them before publication (the authenticated ones: its
# managers; the public ones: nobody); after it, the authenticated ones answer every authenticated caller
# (with the JSON ones, the public form for anyone but the managers) and the public ones everybody.
SYNTHESIS_READS: tuple[tuple[str, dict[str, str], dict[str, int], Check | None], ...] = (
    ("/synthesis", {}, MANAGERS_ONLY, synthesis_form),
    ("/synthesis/export", {"format": "csv"}, MANAGERS_ONLY, None),
    ("/synthesis/distance", {}, MANAGERS_ONLY, synthesis_form),
)
PUBLIC_READS: tuple[tuple[str, dict[str, str], dict[str, int], Check | None], ...] = (
    ("/synthesis/public", {}, NOBODY, None),
    ("/synthesis/public/export", {"format": "xlsx"}, NOBODY, None),
    ("/synthesis/distance/public", {}, NOBODY, None),
)

ROWS: tuple[Row, ...] = (
    # Questionnaire templates
    Row("GET", "/questionnaires/document-schema", EVERYONE),
    Row("GET", "/questionnaires", AUTHENTICATED),
    Row("GET", "/questionnaires/{questionnaire_id}", AUTHENTICATED),
    Row("GET", "/questionnaires/{questionnaire_id}/document", AUTHENTICATED),
    Row(
        "POST",
        "/questionnaires",
        TEMPLATE_WRITE,
        fixed(json={"title": "Questionnaire régional", "owner": {"level": "region", "code": "24"}}),
    ),
    Row(
        "POST",
        "/questionnaires/imports",
        TEMPLATE_WRITE,
        fixed(params={"owner_level": "region", "owner_code": "24"}, json=DOCUMENT),
    ),
    Row("PATCH", "/questionnaires/{questionnaire_id}", TEMPLATE_WRITE, template_patch),
    Row("PUT", "/questionnaires/{questionnaire_id}/document", TEMPLATE_WRITE, template_document),
    Row("POST", "/questionnaires/{questionnaire_id}/editions", TEMPLATE_WRITE, template_edition),
    Row("DELETE", "/questionnaires/{questionnaire_id}", TEMPLATE_WRITE, template_archive),
    Row("POST", "/questionnaires/{questionnaire_id}/restore", TEMPLATE_WRITE, template_restore),
    # Campaigns
    Row("POST", "/campaigns", statuses(403, admin=OK, centre=OK, **NO_CREDENTIAL), new_campaign),
    Row("GET", "/campaigns", AUTHENTICATED, WHOLE_LIST, campaigns_listed),
    Row("GET", "/campaigns/{campaign_id}", CAMPAIGN_READ),
    Row("PATCH", "/campaigns/{campaign_id}", MANAGE, campaign_patch),
    Row("GET", "/campaigns/{campaign_id}/invitees", CAMPAIGN_READ),
    # Invitation tokens, contacts, e-mails, non-respondents
    Row("POST", "/campaigns/{campaign_id}/invitees/{code}/token", MANAGE, fixed(ids={"code": CHER})),
    Row("DELETE", "/campaigns/{campaign_id}/invitees/{code}/token", MANAGE, cher_token),
    Row(
        "POST",
        "/campaigns/{campaign_id}/invitation-tokens",
        MANAGE,
        fixed(params={"format": "csv"}, json={"codes": [CHER]}),
    ),
    Row("POST", "/contacts", statuses(403, admin=OK, centre=OK, orleans=OK, **NO_CREDENTIAL), contact_create),
    Row("GET", "/contacts", statuses(OK, reader=403, **NO_CREDENTIAL), WHOLE_LIST, contacts_listed),
    Row(
        "GET",
        "/contacts/export",
        statuses(OK, reader=403, **NO_CREDENTIAL),
        fixed(params={"format": "csv"}),
        check=contacts_exported,
    ),
    Row(  # a contact outside the caller's territory is a row error: nothing imported
        "POST",
        "/contacts/imports",
        statuses(422, admin=OK, centre=OK, orleans=OK, reader=403, **NO_CREDENTIAL),
        contacts_file,
    ),
    Row("GET", "/contacts/{contact_id}", CONTACT_READ),
    Row("GET", "/contacts/{contact_id}/history", CONTACT_READ),
    Row("PATCH", "/contacts/{contact_id}", CONTACT_READ, contact_patch),
    Row("DELETE", "/contacts/{contact_id}", CONTACT_READ, contact_delete),
    Row("POST", "/campaigns/{campaign_id}/invitations", MANAGE, fixed(json={"codes": [CHER]})),
    Row("POST", "/campaigns/{campaign_id}/reminders", MANAGE, fixed(json={"codes": [CHER]})),
    Row(
        "GET",
        "/outbox",
        statuses(403, admin=OK, centre=OK, occitanie=OK, **NO_CREDENTIAL),
        WHOLE_LIST,
        outbox_listed,
    ),
    Row("GET", "/campaigns/{campaign_id}/non-respondents", MANAGE),
    Row("GET", "/campaigns/{campaign_id}/non-respondents/export", MANAGE, fixed(params={"format": "csv"})),
    # Responses: by an account, by a file, by an invitation token
    Row("GET", "/campaigns/{campaign_id}/responses/{code}", RESPONSE_READ),
    Row("GET", "/campaigns/{campaign_id}/responses/{code}/history", RESPONSE_READ),
    Row("PATCH", "/campaigns/{campaign_id}/responses/{code}", RESPONSE_WRITE, response_save),
    Row("POST", "/campaigns/{campaign_id}/responses/{code}/submission", RESPONSE_WRITE, response_submit),
    Row("POST", "/campaigns/{campaign_id}/responses/{code}/reopening", MANAGE_LOCATED, response_reopen),
    Row("POST", "/campaigns/{campaign_id}/responses/imports", MANAGE, responses_file),
    Row("GET", "/answer", TOKEN_ONLY, check=own_invitation),
    Row("GET", "/answer/questionnaire", TOKEN_ONLY, check=the_questions),
    Row("GET", "/answer/response", TOKEN_ONLY, check=own_invitation),
    Row("PATCH", "/answer/response", TOKEN_ONLY | {"anonymous": 401}, token_save, check=own_invitation),
    Row("POST", "/answer/response/submission", TOKEN_ONLY | {"anonymous": 401}, token_submit, own_invitation),
    # Syntheses before publication (the other campaign is never published), publication, then the same reads
    *(
        Row("GET", f"/campaigns/{{campaign_id}}{path}", expected, on_other(params=params), note="unpublished")
        for path, params, expected, _check in (*SYNTHESIS_READS, *PUBLIC_READS)
    ),
    Row(
        "GET",
        "/campaigns/{campaign_id}/synthesis/comparison",
        statuses(404, admin=OK, centre=OK),  # public once both are published: 404 before, for anyone
        compare_with_other,
        note="with an unpublished campaign",
    ),
    Row("POST", "/campaigns/{campaign_id}/synthesis/publication", MANAGERS_ONLY),
    *(
        Row(
            "GET",
            f"/campaigns/{{campaign_id}}{path}",
            AUTHENTICATED,
            fixed(params=params),
            check,
            "published",
        )
        for path, params, _before, check in SYNTHESIS_READS
    ),
    *(
        Row("GET", f"/campaigns/{{campaign_id}}{path}", EVERYONE, fixed(params=params), note="published")
        for path, params, _before, _check in PUBLIC_READS
    ),
    Row(
        "GET",
        "/campaigns/{campaign_id}/synthesis/comparison",
        EVERYONE,
        compare_with_itself,
        check=synthesis_form,
        note="of a published campaign",
    ),
    # What publication does not open: the rates, the individual answers
    Row("GET", "/campaigns/{campaign_id}/stats", MANAGE_LOCATED, note="published"),
    Row(
        "GET",
        "/campaigns/{campaign_id}/stats/export",
        MANAGE_LOCATED,
        fixed(params={"format": "csv"}),
        note="published",
    ),
    Row(
        "GET",
        "/campaigns/{campaign_id}/answers/export",
        MANAGERS_ONLY,
        fixed(params={"format": "csv"}),
        note="published",
    ),
    # The service's jobs
    Row("GET", "/jobs/diagnostic", JOBS),
    Row("GET", "/jobs/diagnostic/runs", JOBS),
    Row("GET", "/jobs/diagnostic/runs/{run_id}", JOBS),
    Row("POST", "/jobs/diagnostic/runs", JOBS, fixed(json={"job": "purge-idempotency-keys"})),
)


def diagnostic_routes() -> set[tuple[str, str]]:
    """Every operation of the public contract the diagnostic serves, as (method, path below /api/v1); the
    contract is the code's (tests/test_contract.py), and each path the gateway's routing sends there."""
    document = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
    return {
        (method.upper(), path.removeprefix(API))
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS and operation["x-service"] == "diagnostic"
    }


def test_every_diagnostic_route_has_a_matrix_row() -> None:
    served = diagnostic_routes()
    covered = {(row.method, row.route) for row in ROWS}
    assert served - covered == set(), "routes without a row in the permission matrix"
    assert covered - served == set(), "rows for routes the service does not serve"


def matches(expected: int, got: int) -> bool:
    return 200 <= got < 300 if expected == OK else got == expected


@pytest.mark.asyncio(loop_scope="session")
async def test_the_diagnostic_permission_matrix_through_the_gateway(gateway: str, make_key: Any) -> None:
    keys = {
        "admin": ("admin", None),
        "centre": ("coordinator", "24"),
        "occitanie": ("coordinator", "76"),
        "orleans": ("contributor", ORLEANS),
        "tours": ("contributor", TOURS),
        "toulouse": ("contributor", TOULOUSE),
        "reader": ("reader", None),
    }
    callers = {
        name: {"X-API-Key": await make_key(role, territory)} for name, (role, territory) in keys.items()
    }
    callers["anonymous"] = {}
    async with httpx.AsyncClient(base_url=gateway, timeout=60) as http:
        admin = callers["admin"]
        imported = await http.post(f"{API}/questionnaires/imports", json=DOCUMENT, headers=admin)
        assert imported.status_code == 201, imported.text
        questionnaire = imported.json()["id"]
        world = World(http, callers, questionnaire, "", "", "", "", "", {})
        campaigns = []
        for name in ("matrice", "autre"):
            body = (await new_campaign(world, name)).json | {"invitees": {"epci_natures": ["ME"]}}
            created = await http.post(f"{API}/campaigns", json=body, headers=callers["centre"])
            assert created.status_code == 201, created.text
            campaigns.append(created.json()["id"])
        world.campaign, world.other = campaigns
        for name, campaign in (("token", world.campaign), ("other_token", world.other)):
            issued = await world.ok("POST", f"{API}/campaigns/{campaign}/invitees/{LOIRET}/token")
            callers[name] = {"X-Invitation-Token": issued.json()["token"]}
            world.tokens[name] = campaign
        world.contact = await world.new_contact()
        world.cher_email = f"transition.{uuid.uuid4().hex[:10]}@cher.example.fr"
        cher = {"collectivite_level": "departement", "collectivite": CHER, "email": world.cher_email}
        await world.ok("POST", f"{API}/contacts", json=cher)
        world.run = (await run_job(http, admin, "diagnostic", "purge-idempotency-keys"))["id"]

        wrong: list[str] = []

        async def send(row: Row, caller: str, call: Call) -> None:
            answer = await http.request(
                row.method,
                API + row.route.format(**(world.ids() | call.ids)),
                headers=callers[caller] | call.headers,
                params=call.params or None,
                json=call.json,
                content=call.content,
            )
            want = row.expected[caller]
            if not matches(want, answer.status_code):
                wrong.append(
                    f"{row.method} {row.route} {row.note} as {caller}: {answer.status_code}, expected "
                    f"{'2xx' if want == OK else want}: {answer.text[:200]}"
                )
            elif want == OK and row.check is not None:
                row.check(world, caller, answer)

        for row in ROWS:
            # The refused first, all at once on one prepared state (a refusal changes nothing), so that a
            # refusal never rests on what an allowed call did; then each allowed caller on its own state.
            refused = [caller for caller in CALLERS if row.expected[caller] != OK]
            if refused:
                call = await row.prepare(world, refused[0])
                await asyncio.gather(*(send(row, caller, call) for caller in refused))
            for caller in (caller for caller in CALLERS if row.expected[caller] == OK):
                await send(row, caller, await row.prepare(world, caller))
        assert wrong == [], "\n".join(wrong)
