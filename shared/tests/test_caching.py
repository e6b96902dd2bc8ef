"""Public reads (planeco_shared.caching): ETag from the data version, 304 without running the endpoint,
answers built once per data version, gzip as its own representation, and every write seen
(planeco_shared.dataversion), on a small app built like a service."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy import Integer, String, insert, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from planeco_shared.app_factory import create_service_app
from planeco_shared.caching import (
    ReadCache,
    accepts_gzip,
    if_none_match_matches,
    not_reproducible,
    public_cache,
)
from planeco_shared.database import SessionDep, write_session
from planeco_shared.dataversion import UNVERSIONED, DataVersionMixin, read_data_version
from planeco_shared.identity import PUBLIC, AnyCaller, Authenticated
from planeco_shared.models import new_metadata
from planeco_shared.problems import NotFound
from planeco_shared.runtime import ServiceRuntime, runtime_of
from planeco_shared.settings import ServiceSettings
from planeco_shared.testing import (
    TEST_SECRET,
    all_at_once,
    asgi_client,
    demo_runtime,
    fresh_database_url,
    identity_headers,
    versioned_client,
)

ANONYMOUS = identity_headers("anonymous")
ADMIN = identity_headers("admin")
COLOURS = "/api/v1/colours"


class Base(DeclarativeBase):
    metadata = new_metadata()


class DataVersion(DataVersionMixin, Base):
    __tablename__ = "data_version"


class Colour(Base):
    __tablename__ = "colours"
    key: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class Tally(Base):
    """Bookkeeping that no cached read shows: its writes leave the data version alone."""

    __tablename__ = "tallies"
    __table_args__ = {"info": {UNVERSIONED: True}}  # noqa: RUF012 (SQLAlchemy's declarative form)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)


router = APIRouter(prefix="/colours")


def ran(request: Request, name: str) -> None:
    request.app.state.runs[name] += 1


@router.get("/{key}", openapi_extra=PUBLIC, dependencies=[public_cache(max_age=60)])
async def public_colour(
    key: str, request: Request, session: SessionDep, _caller: AnyCaller, shade: str | None = None
) -> dict[str, str]:
    ran(request, "colour")
    colour = await session.get(Colour, key)
    if colour is None:
        raise NotFound(f"No colour {key}")
    await asyncio.sleep(0.01)  # long enough for concurrent requests to find it being built
    return {"key": colour.key, "name": colour.name}


@router.get("/-/all", openapi_extra=PUBLIC, dependencies=[public_cache()])
async def all_colours(request: Request, _caller: AnyCaller) -> StreamingResponse:
    ran(request, "all")

    async def chunks() -> AsyncIterator[bytes]:  # a streamed body, large enough to be compressed
        yield b"["
        yield b",".join(b'"vert"' for _ in range(400))
        yield b"]"

    return StreamingResponse(chunks(), media_type="application/json")


@router.get("/-/file", openapi_extra=PUBLIC, dependencies=[public_cache()])
async def file(request: Request, _caller: AnyCaller) -> Response:
    ran(request, "file")
    not_reproducible(request)  # rebuilt with its generation time
    return Response(b"key;name\n1;vert\n", media_type="text/csv")


@router.get("/-/cookie", openapi_extra=PUBLIC, dependencies=[public_cache()])
async def with_cookie(_caller: AnyCaller) -> JSONResponse:
    response = JSONResponse({"ok": True})
    response.set_cookie("session", "x")
    return response


@router.get("/-/private")
async def private(_caller: Authenticated) -> dict[str, str]:
    return {"secret": "yes"}


@router.put("/{key}")
async def put_colour(key: str, name: str, session: SessionDep, _caller: Authenticated) -> dict[str, str]:
    colour = await session.get(Colour, key)
    if colour is None:
        session.add(Colour(key=key, name=name))  # left pending: flushed at commit
    else:
        colour.name = name
    return {"key": key, "name": name}


@router.post("/-/behind-its-back")
async def behind_its_back(request: Request, _caller: Authenticated) -> None:
    # What no service does: a write on a bare connection, outside the request's session.
    async with runtime_of(request.app).engine.begin() as connection:
        await connection.execute(text("UPDATE colours SET name = 'gris' WHERE key = '2'"))


@router.post("/-/tally")
async def tally(session: SessionDep, _caller: Authenticated) -> None:
    await session.execute(insert(Tally))


def build(database_url: str, *routers: APIRouter, cache_megabytes: int = 64) -> FastAPI:
    settings = ServiceSettings(
        database_url=database_url,
        internal_secret=TEST_SECRET,
        log_json=False,
        read_cache_megabytes=cache_megabytes,
    )
    app = create_service_app(
        name="demo", title="demo", description="demo", settings=settings, routers=routers or (router,)
    )
    app.state.runs = Counter()
    return app


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return fresh_database_url("shared_caching", tmp_path)


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[ServiceRuntime]:
    """The demo schema on the test database, with the colours vert and bleu."""
    async with ServiceRuntime.open("demo", ServiceSettings(database_url=database_url)) as runtime:
        async with runtime.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
            await connection.execute(insert(DataVersion).values(id=1, version=1))
            await connection.execute(
                insert(Colour), [{"key": "1", "name": "vert"}, {"key": "2", "name": "bleu"}]
            )
        yield runtime


@pytest.fixture
async def app(runtime: ServiceRuntime, database_url: str) -> AsyncIterator[FastAPI]:
    app = build(database_url)
    async with demo_runtime(app, database_url):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as client:
        yield client


async def test_a_public_read_has_a_strong_etag_and_public_cache_control(client: httpx.AsyncClient) -> None:
    first = await client.get(f"{COLOURS}/1", headers=ANONYMOUS)
    assert first.status_code == 200
    assert first.json() == {"key": "1", "name": "vert"}
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert first.headers["cache-control"] == "public, max-age=60, must-revalidate"
    assert first.headers["vary"] == "Accept-Encoding"
    again = await client.get(f"{COLOURS}/1", headers=ADMIN)  # the caller does not change it
    assert (again.headers["etag"], again.json()) == (etag, first.json())
    assert (await client.get(f"{COLOURS}/2", headers=ANONYMOUS)).headers["etag"] != etag
    assert (await client.get(f"{COLOURS}/1?shade=dark", headers=ANONYMOUS)).headers["etag"] != etag


@pytest.mark.parametrize(
    "if_none_match",
    ["{etag}", "W/{etag}", '"other", {etag}', '  "a" ,, W/"b",{etag} ', "*"],
)
async def test_a_matching_if_none_match_is_a_304_that_runs_nothing(
    app: FastAPI, client: httpx.AsyncClient, if_none_match: str
) -> None:
    etag = (await client.get(f"{COLOURS}/1", headers=ANONYMOUS)).headers["etag"]
    app.state.runs.clear()
    response = await client.get(
        f"{COLOURS}/1", headers=ANONYMOUS | {"if-none-match": if_none_match.format(etag=etag)}
    )
    assert (response.status_code, response.content) == (304, b"")
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == "public, max-age=60, must-revalidate"
    assert "content-type" not in response.headers
    assert response.headers["x-request-id"]
    assert app.state.runs == {}  # the endpoint did not run: no data was read


async def test_an_answer_is_built_once_per_data_version(app: FastAPI, client: httpx.AsyncClient) -> None:
    bodies = {(await client.get(f"{COLOURS}/1", headers=ANONYMOUS)).content for _ in range(5)}
    assert len(bodies) == 1 and app.state.runs["colour"] == 1
    cache: ReadCache = app.state.read_cache
    assert (cache.misses, cache.hits) == (1, 4)


async def test_concurrent_misses_build_the_answer_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    await client.get(f"{COLOURS}/2", headers=ANONYMOUS)  # the path is known to be cached
    await client.put(f"{COLOURS}/9", params={"name": "rouge"}, headers=ADMIN)  # a new version: nothing kept
    app.state.runs.clear()
    responses = await all_at_once(8, lambda: client.get(f"{COLOURS}/2", headers=ANONYMOUS))
    assert {r.status_code for r in responses} == {200}
    assert app.state.runs["colour"] == 1


async def test_other_etags_get_the_full_answer(client: httpx.AsyncClient) -> None:
    for if_none_match in ('"stale"', 'W/"stale", "older"', "not-an-etag", '""'):
        response = await client.get(f"{COLOURS}/2", headers=ANONYMOUS | {"if-none-match": if_none_match})
        assert (response.status_code, response.json()) == (200, {"key": "2", "name": "bleu"})


async def test_every_write_changes_the_next_etag_and_a_stale_one_gets_the_new_data(
    app: FastAPI, client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    first = await client.get(f"{COLOURS}/1", headers=ANONYMOUS)
    stale = first.headers["etag"]
    before = await runtime.data_version()

    # A request that writes (the change flushed only at commit).
    assert (await client.put(f"{COLOURS}/1", params={"name": "vert d'eau"}, headers=ADMIN)).status_code == 200
    assert await runtime.data_version() == before + 1
    changed = await client.get(f"{COLOURS}/1", headers=ANONYMOUS | {"if-none-match": stale})
    assert (changed.status_code, changed.json()["name"]) == (200, "vert d'eau")
    assert changed.headers["etag"] != stale

    # A CLI import or a job: a session of its own, raw SQL included.
    async with write_session(runtime.engine) as session:
        await session.execute(text("UPDATE colours SET name = 'vert sapin' WHERE key = '1'"))
    assert await runtime.data_version() == before + 2
    again = await client.get(f"{COLOURS}/1", headers=ANONYMOUS | {"if-none-match": changed.headers["etag"]})
    assert (again.status_code, again.json()["name"]) == (200, "vert sapin")


async def test_reads_bookkeeping_and_failed_writes_leave_the_version_alone(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    before = await runtime.data_version()
    await client.get(f"{COLOURS}/1", headers=ANONYMOUS)
    assert (await client.post(f"{COLOURS}/-/tally", headers=ADMIN)).status_code == 200
    refused = await client.put(f"{COLOURS}/1", headers=ADMIN)  # no name: 422 before any write
    assert refused.status_code == 422
    async with write_session(runtime.engine) as session:
        await session.execute(text("SELECT name FROM colours"))
    with pytest.raises(RuntimeError):
        async with write_session(runtime.engine) as session:
            await session.execute(text("UPDATE colours SET name = 'jaune'"))
            raise RuntimeError("rolled back")
    assert await runtime.data_version() == before


async def test_the_test_clients_catch_a_write_that_leaves_the_version_alone(app: FastAPI) -> None:
    """Every service's test client is a `versioned_client`: a write path that bypassed the versioned
    session (so cached reads would go stale) fails whichever test exercises it."""
    async with versioned_client(app) as client:
        assert (await client.put(f"{COLOURS}/1", params={"name": "vert"}, headers=ADMIN)).status_code == 200
        await client.get(f"{COLOURS}/1", headers=ANONYMOUS)
        with pytest.raises(AssertionError, match="left the data version as it was"):
            await client.post(f"{COLOURS}/-/behind-its-back", headers=ADMIN)


async def test_a_write_on_another_replica_is_seen_at_the_next_read(
    runtime: ServiceRuntime, database_url: str
) -> None:
    """Two processes of the service on one database share nothing but the data version."""
    one, two = build(database_url), build(database_url)
    async with (
        demo_runtime(one, database_url),
        demo_runtime(two, database_url),
        asgi_client(one) as first,
        asgi_client(two) as second,
    ):
        etag = (await first.get(f"{COLOURS}/2", headers=ANONYMOUS)).headers["etag"]
        assert (await second.get(f"{COLOURS}/2", headers=ANONYMOUS)).headers["etag"] == etag  # same tag
        assert (
            await second.put(f"{COLOURS}/2", params={"name": "bleu nuit"}, headers=ADMIN)
        ).status_code == 200
        seen = await first.get(f"{COLOURS}/2", headers=ANONYMOUS | {"if-none-match": etag})
        assert (seen.status_code, seen.json()["name"]) == (200, "bleu nuit")
        assert one.state.runs["colour"] == 2


async def test_gzip_is_its_own_representation_with_its_own_etag(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    plain = await client.get(f"{COLOURS}/-/all", headers=ANONYMOUS | {"accept-encoding": "identity"})
    zipped = await client.get(f"{COLOURS}/-/all", headers=ANONYMOUS | {"accept-encoding": "gzip"})
    assert "content-encoding" not in plain.headers and zipped.headers["content-encoding"] == "gzip"
    assert plain.json() == zipped.json() and len(plain.json()) == 400
    assert int(zipped.headers["content-length"]) < int(plain.headers["content-length"]) // 10
    assert zipped.headers["etag"] == plain.headers["etag"].removesuffix('"') + '-gzip"'
    assert plain.headers["vary"] == zipped.headers["vary"] == "Accept-Encoding"
    assert app.state.runs["all"] == 1  # both codings of one answer, built once
    for response in (plain, zipped):
        again = await client.get(
            f"{COLOURS}/-/all",
            headers=ANONYMOUS | {"if-none-match": response.headers["etag"], "accept-encoding": "gzip"},
        )
        assert (again.status_code, again.headers["etag"]) == (304, response.headers["etag"])
    small = await client.get(f"{COLOURS}/1", headers=ANONYMOUS | {"accept-encoding": "gzip"})
    assert "content-encoding" not in small.headers  # under 1 KiB: not worth compressing


async def test_head_has_the_get_headers(client: httpx.AsyncClient) -> None:
    get = await client.get(f"{COLOURS}/1", headers=ANONYMOUS)
    head = await client.head(f"{COLOURS}/1", headers=ANONYMOUS)
    assert (head.status_code, head.content, head.headers["etag"]) == (200, b"", get.headers["etag"])


async def test_an_answer_that_is_not_reproducible_gets_weak_tags(client: httpx.AsyncClient) -> None:
    first = await client.get(f"{COLOURS}/-/file", headers=ANONYMOUS)
    assert first.headers["etag"].startswith('W/"')
    again = await client.get(
        f"{COLOURS}/-/file", headers=ANONYMOUS | {"if-none-match": first.headers["etag"]}
    )
    assert (again.status_code, again.headers["etag"]) == (304, first.headers["etag"])


async def test_errors_cookies_and_private_reads_are_not_cached(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    for _ in range(2):
        missing = await client.get(f"{COLOURS}/9", headers=ANONYMOUS | {"if-none-match": "*"})
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert "etag" not in missing.headers and "cache-control" not in missing.headers
    assert app.state.runs["colour"] == 2
    cookie = await client.get(f"{COLOURS}/-/cookie", headers=ANONYMOUS | {"if-none-match": "*"})
    assert cookie.status_code == 200 and "cache-control" not in cookie.headers
    secret = await client.get(f"{COLOURS}/-/private", headers=ADMIN | {"if-none-match": "*"})
    assert secret.status_code == 200
    assert "etag" not in secret.headers and "public" not in secret.headers.get("cache-control", "")


async def test_a_cached_answer_still_needs_a_valid_identity(client: httpx.AsyncClient) -> None:
    etag = (await client.get(f"{COLOURS}/1", headers=ANONYMOUS)).headers["etag"]
    for headers in ({}, {"x-planeco-identity": "forged"}):
        for extra in ({}, {"if-none-match": etag}):
            response = await client.get(f"{COLOURS}/1", headers=headers | extra)
            assert response.status_code == 401
            assert "etag" not in response.headers


async def test_without_memory_answers_are_rebuilt_but_still_revalidate(
    runtime: ServiceRuntime, database_url: str
) -> None:
    app = build(database_url, cache_megabytes=0)
    async with demo_runtime(app, database_url), asgi_client(app) as client:
        first = await client.get(f"{COLOURS}/1", headers=ANONYMOUS)
        assert (await client.get(f"{COLOURS}/1", headers=ANONYMOUS)).headers["etag"] == first.headers["etag"]
        assert app.state.runs["colour"] == 2
        again = await client.get(f"{COLOURS}/1", headers=ANONYMOUS | {"if-none-match": first.headers["etag"]})
        assert again.status_code == 304 and app.state.runs["colour"] == 2


async def test_the_version_is_read_in_its_own_autocommit(runtime: ServiceRuntime) -> None:
    assert await read_data_version(runtime.engine) == 1
    async with runtime.engine.connect() as connection:
        await connection.execute(text("UPDATE data_version SET version = 41"))
        await connection.commit()
    assert await runtime.data_version() == 41


def test_public_cache_on_a_non_public_route_refuses_to_start(tmp_path: Path) -> None:
    wrong = APIRouter()

    @wrong.get("/mine", dependencies=[public_cache()])
    async def mine(_caller: Authenticated) -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match="/api/v1/mine"):
        build(f"sqlite+aiosqlite:///{tmp_path}/x.db", wrong)


def test_public_cache_on_a_write_refuses_to_start(tmp_path: Path) -> None:
    wrong = APIRouter(dependencies=[public_cache()])

    @wrong.post("/things", openapi_extra=PUBLIC)
    async def create(_caller: AnyCaller) -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match="POST"):
        build(f"sqlite+aiosqlite:///{tmp_path}/x.db", wrong)


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (b'"abc"', True),
        (b'W/"abc"', True),
        (b'"x", "abc"', True),
        (b'"x","y"', False),
        (b"*", True),
        (b" * ", True),
        (b'"ab"c"', False),
        (b"abc", False),
        (b"", False),
        (b'"x", garbage, "abc"', False),  # malformed: the full response is the safe answer
    ],
)
def test_if_none_match_parsing(header: bytes, matches: bool) -> None:
    assert if_none_match_matches(header, b'"abc"') is matches


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        (b"gzip", True),
        (b"gzip, deflate, br", True),
        (b"br;q=1.0, gzip;q=0.8", True),
        (b"GZIP", True),
        (b"*", True),
        (b"identity", False),
        (b"gzip;q=0", False),
        (b"gzip;q=0.000", False),
        (b"br", False),
        (b"", False),
        (b"x-gzip", True),
    ],
)
def test_accept_encoding_parsing(header: bytes, accepted: bool) -> None:
    assert accepts_gzip(header) is accepted


async def test_an_immutable_response_keeps_its_tag_gzips_with_its_own_and_answers_304() -> None:
    from starlette.middleware.gzip import GZipMiddleware

    from planeco_shared.caching import GZIP_MINIMUM_BYTES, immutable_response, strong_etag

    content = ("figure;" * 400).encode()
    tag = strong_etag(content).decode()
    app = FastAPI()
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES)

    @app.get("/frozen")
    async def frozen(request: Request) -> Response:
        return immutable_response(request, content, media_type="text/csv", etag=tag)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        plain = await http.get("/frozen", headers={"accept-encoding": "identity"})
        assert (plain.status_code, plain.content, plain.headers["etag"]) == (200, content, tag)
        assert "content-encoding" not in plain.headers
        assert plain.headers["cache-control"] == "public, max-age=31536000, immutable"
        zipped = await http.get("/frozen", headers={"accept-encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert zipped.headers["etag"] == tag[:-1] + '-gzip"'
        assert zipped.content == content
        again = await http.get("/frozen", headers={"accept-encoding": "gzip"})
        assert again.headers["content-length"] == zipped.headers["content-length"]  # mtime 0: same bytes
        for sent in (tag, zipped.headers["etag"], f'"other", {tag}', "*"):
            revalidated = await http.get("/frozen", headers={"if-none-match": sent})
            assert revalidated.status_code == 304, sent
        assert (await http.get("/frozen", headers={"if-none-match": '"other"'})).status_code == 200
