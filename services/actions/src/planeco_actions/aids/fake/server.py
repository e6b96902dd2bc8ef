"""A fake Aides-territoires: the documented contract (`shared/docs/aides-territoires-api.md`) served from a
generated catalogue (`catalogue.py`), with the real API's quirks, switchable.

What it serves, as the real API does:
- `POST /api/connexion/` (any method works, as upstream) exchanges the `X-AUTH-TOKEN` API key for a JWT
  (`{"token": …}`, claims `iat`, `exp` = iat + 24 h, `roles`, `username`); a bad key is 401
  `{"message": "User not found"}`. `X-AUTH-TOKEN` on any other `/api/` route also answers a token instead of
  data (the gotcha of the real authenticator): the stats count it, the client must never do it.
- Data routes need `Authorization: Bearer <JWT>`: 401 `{"code": 401, "message": "JWT Token not found" |
  "Invalid JWT Token" | "Expired JWT Token"}` otherwise.
- `GET /api/aids/` (filters `perimeter_id`, `organization_type_slugs`), `GET /api/aids/all/`: the live aids,
  `id` descending, `{count, previous, next, results}`, `page` and `itemsPerPage` (or `size`; default 50,
  silently capped at 100); `next` is built from the last value of each query key, so it drops repeated
  filters, as PHP's `query->all()` does. `GET /api/aids/by-id/{id}/` and `/api/aids/{slug}/`: any aid,
  removed ones too (`is_live: false`), 404 `{"detail": "Cette aide n'existe pas"}`.
- `GET /api/perimeters/` (`q`: the words of the name, or a zipcode when numeric; `scale`; `insees`;
  `zipcodes`), `GET /api/perimeters/{id}/` (`70973` or `70973-auvergne-rhone-alpes`),
  `GET /api/perimeters/scales/`: the real territories of the repository's COG 2026 (names, INSEE codes,
  SIREN), see `perimeters.py`.
- Paths without their trailing slash are redirected (301), as Symfony does.
- JSON escapes non-ASCII characters as `\\uXXXX`, as the real API's JsonResponse does.

Quirks (`Quirks`, set at start or at `POST /_fake/quirks`): a short token lifetime, tokens refused as expired
after N data requests (expiry in the middle of a run), an error status (500, 429…) every N data requests,
every aid page from P on failing (an outage in the middle of a scan), unparseable records.
Changes between runs: `POST /_fake/changes` (`{"update": [ids], "remove": [ids], "restore": [ids],
"add": n}`). `POST /_fake/reset` returns to the start-up state; `GET /_fake/stats` counts what was asked.
The `/_fake/` routes are the test harness's, unauthenticated: the fake listens on loopback only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from planeco_actions.aids.fake.catalogue import (
    AUDIENCE_SLUGS,
    aid_id,
    generate_aid,
    index_of,
    perimeter_matches,
)
from planeco_actions.aids.fake.perimeters import all_perimeters, folded_names, perimeters_by_id, slugify

SIGNING_KEY = "fake-aides-territoires-signing-key"  # the fake signs its own tokens (loopback only)
DEFAULT_API_KEY = "fa" * 32  # 64 hex characters, like a real key
MAX_ITEMS_PER_PAGE = 100
DEFAULT_ITEMS_PER_PAGE = 50
SCALE_SLUGS = {
    "commune": "Commune",
    "epci": "EPCI",
    "department": "Département",
    "region": "Région",
    "mainland": "Métropole",
    "overseas": "Outre-mer",
    "adhoc": "Ad-hoc",
    "country": "Pays",
    "continent": "Continent",
}
ERROR_PAGE = (
    "<!DOCTYPE html><html><head><title>An Error Occurred: Internal Server Error</title></head>"
    '<body><h1>Oops! An Error Occurred</h1><h2>The server returned a "500 Internal Server Error".</h2>'
    "</body></html>"
)


@dataclass(slots=True)
class Quirks:
    token_ttl: int = 86_400  # seconds a JWT is valid (upstream: 24 h)
    token_uses: int | None = None  # a token is refused as expired once it served this many data answers
    error_every: int | None = None  # every Nth data request answers `error_status`
    error_status: int = 500
    fail_from_page: int | None = None  # aid list pages from this one on always answer 500
    broken: list[int] = field(default_factory=list)  # ids of aids served unparseable

    def update(self, values: dict[str, Any]) -> None:
        names = {f.name for f in dataclasses.fields(self)}
        for name, value in values.items():
            if name not in names:
                raise ValueError(f"unknown quirk {name!r}")
            setattr(self, name, value)


@dataclass(slots=True)
class FakeConfig:
    aids: int = 50
    seed: int = 1
    api_key: str = DEFAULT_API_KEY
    today: dt.date | None = None  # default: the real date (expired aids leave the lists, as upstream)
    quirks: Quirks = field(default_factory=Quirks)


class FakeState:
    """The catalogue and what happened to it since start-up (or the last reset)."""

    def __init__(self, config: FakeConfig) -> None:
        self.config = config
        # Generated records by (index, edits, broken, today): the same for the same seed, kept across resets.
        self._generated: dict[tuple[int, int, bool, dt.date], dict[str, Any]] = {}
        self.reset()

    def reset(self) -> None:
        self.size = self.config.aids
        self.quirks = dataclasses.replace(self.config.quirks, broken=list(self.config.quirks.broken))
        self.edits: dict[int, int] = {}
        self.removed: set[int] = set()
        self.stats: Counter[str] = Counter()
        self.token_uses: Counter[str] = Counter()
        self.token_serial = itertools.count(1)
        self._records: list[dict[str, Any]] | None = None

    @property
    def today(self) -> dt.date:
        return self.config.today or dt.datetime.now(dt.UTC).date()

    def aid(self, index: int) -> dict[str, Any]:
        key = (index, self.edits.get(index, 0), aid_id(index) in self.quirks.broken, self.today)
        if (record := self._generated.get(key)) is None:
            record = generate_aid(self.config.seed, index, today=key[3], edits=key[1], broken=key[2])
            self._generated[key] = record
        return record | {"is_live": False} if index in self.removed else record

    def live_records(self) -> list[dict[str, Any]]:
        """Published, not expired, newest id first (what `/api/aids/all/` lists)."""
        if self._records is None:
            today = self.today.isoformat()
            self._records = [
                record
                for index in reversed(range(self.size))
                if index not in self.removed
                for record in [self.aid(index)]
                if not isinstance(deadline := record.get("submission_deadline"), str)
                or not deadline[:4].isdigit()
                or deadline >= today
            ]
        return self._records

    def change(self, body: dict[str, Any]) -> dict[str, Any]:
        for identifier in body.get("update", []):
            index = self._index(identifier)
            self.edits[index] = self.edits.get(index, 0) + 1
        for identifier in body.get("remove", []):
            self.removed.add(self._index(identifier))
        for identifier in body.get("restore", []):
            self.removed.discard(self._index(identifier))
        added = [aid_id(index) for index in range(self.size, self.size + int(body.get("add", 0)))]
        self.size += len(added)
        self._records = None
        return {"added": added, "live": len(self.live_records())}

    def set_quirks(self, values: dict[str, Any]) -> None:
        self.quirks.update(values)
        self._records = None

    def _index(self, identifier: Any) -> int:
        index = index_of(int(identifier))
        if index is None or index >= self.size:
            raise ValueError(f"no generated aid {identifier}")
        return index

    def new_token(self) -> str:
        now = int(time.time())
        serial = next(self.token_serial)
        claims = {
            "iat": now,
            "exp": now + self.quirks.token_ttl,
            "roles": ["ROLE_USER"],
            "username": "bot@example.org",
            "jti": str(serial),
        }
        return jwt.encode(claims, SIGNING_KEY, algorithm="HS256")


def as_json(body: Any, status: int = 200) -> Response:
    # ensure_ascii: the real API escapes non-ASCII characters (`\u00e9`); slashes are not escaped.
    return Response(json.dumps(body, ensure_ascii=True), status_code=status, media_type="application/json")


def unauthorized(message: str) -> Response:
    return as_json({"code": 401, "message": message}, 401)


def not_found(detail: str) -> Response:
    return as_json({"type": "about:blank", "title": "Not Found", "status": 404, "detail": detail}, 404)


def state_of(request: Request) -> FakeState:
    state: FakeState = request.app.state.fake
    return state


def token_exchange(request: Request, state: FakeState) -> Response:
    key = request.headers.get("x-auth-token", "")
    if not key:
        return as_json({"message": "No API token provided"}, 401)
    if key != state.config.api_key:
        state.stats["bad_api_key"] += 1
        return as_json({"message": "User not found"}, 401)
    state.stats["tokens_issued"] += 1
    return as_json({"token": state.new_token()})


def authorize(request: Request, state: FakeState) -> Response | None:
    """None when the request may have data; else the answer upstream would give."""
    state.stats["data_requests"] += 1
    if "x-auth-token" in request.headers:
        state.stats["x_auth_token_on_data"] += 1
        return token_exchange(request, state)
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        state.stats["unauthorized"] += 1
        return unauthorized("JWT Token not found")
    try:
        claims = jwt.decode(header[len("Bearer ") :], SIGNING_KEY, algorithms=["HS256"])
    except jwt.ExpiredSignatureError:
        state.stats["expired"] += 1
        return unauthorized("Expired JWT Token")
    except jwt.InvalidTokenError:
        state.stats["unauthorized"] += 1
        return unauthorized("Invalid JWT Token")
    serial = str(claims.get("jti"))
    limit = state.quirks.token_uses
    if limit is not None and state.token_uses[serial] >= limit:
        state.stats["expired"] += 1
        return unauthorized("Expired JWT Token")
    every = state.quirks.error_every
    if every and state.stats["data_requests"] % every == 0:
        state.stats["errors_served"] += 1
        if state.quirks.error_status == 429:
            return as_json({"message": "Too Many Requests"}, 429)
        return Response(ERROR_PAGE, status_code=state.quirks.error_status, media_type="text/html")
    state.token_uses[serial] += 1  # a token serves `token_uses` data answers, then is refused as expired
    return None


def int_param(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default  # malformed values are silently ignored upstream


def paginated(request: Request, items: list[dict[str, Any]]) -> Response:
    query = request.query_params
    page = max(1, int_param(query.get("page"), 1))
    size = int_param(query.get("itemsPerPage", query.get("size")), DEFAULT_ITEMS_PER_PAGE)
    size = min(max(size, 1), MAX_ITEMS_PER_PAGE)
    start = (page - 1) * size
    # http_build_query(query->all()): one value per key, the last one; repeated filters are dropped.
    last_values = dict(query.items())
    base = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
    has_next = start + size < len(items)
    return as_json(
        {
            "count": len(items),
            "previous": f"{base}?{urlencode(last_values | {'page': page - 1})}" if page > 1 else None,
            "next": f"{base}?{urlencode(last_values | {'page': page + 1})}" if has_next else None,
            "results": items[start : start + size],
        }
    )


async def connexion(request: Request) -> Response:
    state = state_of(request)
    state.stats["connexion"] += 1
    return token_exchange(request, state)


async def list_aids(request: Request) -> Response:
    state = state_of(request)
    if refused := authorize(request, state):
        return refused
    page = int_param(request.query_params.get("page"), 1)
    if state.quirks.fail_from_page is not None and page >= state.quirks.fail_from_page:
        state.stats["errors_served"] += 1
        return Response(ERROR_PAGE, status_code=500, media_type="text/html")
    state.stats["aid_pages"] += 1
    records = state.live_records()
    if request.url.path.endswith("/all/"):
        return paginated(request, records)
    query = request.query_params
    if (perimeter := query.get("perimeter_id")) and (number := perimeter.split("-")[0]).isdigit():
        records = [r for r in records if perimeter_matches(r, int(number))]
    if audiences := set(query.getlist("organization_type_slugs")):
        records = [
            r for r in records if audiences & {AUDIENCE_SLUGS.get(a) for a in r.get("targeted_audiences", [])}
        ]
    return paginated(request, records)


async def get_aid(request: Request) -> Response:
    state = state_of(request)
    if refused := authorize(request, state):
        return refused
    key = str(request.path_params["key"])
    for index in range(state.size):
        record = state.aid(index)
        if key in (str(record["id"]), record.get("slug")):
            return as_json(record)
    return not_found("Cette aide n'existe pas")


def fold(text: str) -> str:
    return slugify(text).replace("-", " ")


async def list_perimeters(request: Request) -> Response:
    state = state_of(request)
    if refused := authorize(request, state):
        return refused
    query = request.query_params
    perimeters = list(zip(all_perimeters(), folded_names(), strict=True))
    if scale := query.get("scale"):
        label = SCALE_SLUGS.get(scale.replace("_", "-"), scale)
        perimeters = [(p, f) for p, f in perimeters if p.scale == label]
    if q := query.get("q"):
        # Upstream: a full-text match on the name, or zipcodes LIKE when q is numeric.
        words = fold(q).split()
        perimeters = [
            (p, f)
            for p, f in perimeters
            if (words and all(w in f.split() for w in words))
            or (q.isdigit() and any(q in z for z in p.zipcodes))
        ]
    if insees := query.getlist("insees"):
        perimeters = [(p, f) for p, f in perimeters if p.scale == "Commune" and p.code in insees]
    if zipcodes := query.getlist("zipcodes"):
        perimeters = [(p, f) for p, f in perimeters if set(zipcodes) & set(p.zipcodes)]
    return paginated(request, [p.record() for p, _ in perimeters])


async def get_perimeter(request: Request) -> Response:
    state = state_of(request)
    if refused := authorize(request, state):
        return refused
    number = str(request.path_params["key"]).split("-")[0]
    perimeter = perimeters_by_id().get(int(number)) if number.isdigit() else None
    if perimeter is None:
        return not_found("Périmètre non trouvé")
    return as_json(perimeter.record())


async def list_scales(request: Request) -> Response:
    state = state_of(request)
    if refused := authorize(request, state):
        return refused
    scales = [{"id": slug, "name": label} for slug, label in SCALE_SLUGS.items()]
    return as_json({"count": len(scales), "previous": None, "next": None, "results": scales})


async def add_slash(request: Request) -> Response:
    """Symfony redirects a data route asked without its trailing slash; anything else is a 404."""
    if request.url.path.endswith("/"):
        return not_found("No route found")
    target = f"{request.url.path}/" + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(target, status_code=301)


async def control(request: Request) -> Response:
    state = state_of(request)
    action = request.path_params["action"]
    if action == "stats" and request.method == "GET":
        return as_json(dict(state.stats) | {"live": len(state.live_records()), "size": state.size})
    if request.method != "POST":
        return as_json({"detail": "POST"}, 405)
    body = await request.json() if await request.body() else {}
    try:
        if action == "reset":
            state.reset()
            return as_json({"live": len(state.live_records())})
        if action == "changes":
            return as_json(state.change(body))
        if action == "quirks":
            state.set_quirks(body)
            return as_json(dataclasses.asdict(state.quirks))
    except (ValueError, TypeError) as error:
        return as_json({"detail": str(error)}, 422)
    return not_found(f"no control {action!r}")


def create_fake_app(config: FakeConfig | None = None) -> Starlette:
    app = Starlette(
        routes=[
            Route("/api/connexion/", connexion, methods=["GET", "POST"]),
            Route("/api/aids/", list_aids),
            Route("/api/aids/all/", list_aids),
            Route("/api/aids/by-id/{key}/", get_aid),
            Route("/api/perimeters/", list_perimeters),
            Route("/api/perimeters/scales/", list_scales),
            Route("/api/perimeters/{key}/", get_perimeter),
            Route("/api/aids/{key}/", get_aid),
            Route("/_fake/{action}", control, methods=["GET", "POST"]),
            Route("/api/{rest:path}", add_slash),
        ]
    )
    app.state.fake = FakeState(config or FakeConfig())
    return app
