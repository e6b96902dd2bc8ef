"""The fake Aides-territoires as its own process (tests start it with `python -m planeco_actions.aids.fake`,
the local run with `planeco actions fake-aides-territoires`), served by uvicorn on loopback."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
import uvicorn

from planeco_actions.aids.fake.server import DEFAULT_API_KEY, FakeConfig, Quirks, create_fake_app


def serve(
    port: Annotated[int, typer.Option(help="Loopback port to listen on")] = 8010,
    aids: Annotated[int, typer.Option(min=0, max=100_000, help="How many aids to generate")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the generated catalogue (same seed, same aids)")] = 1,
    api_key: Annotated[str, typer.Option(help="The API key it accepts at /api/connexion/")] = DEFAULT_API_KEY,
    today: Annotated[str | None, typer.Option(help="YYYY-MM-DD the fake takes as today")] = None,
    token_ttl: Annotated[int, typer.Option(help="Seconds a JWT is valid")] = 86_400,
    token_uses: Annotated[int | None, typer.Option(help="Refuse a token as expired after N requests")] = None,
    error_every: Annotated[int | None, typer.Option(help="Answer a 500 every N data requests")] = None,
) -> None:
    """Serve a fake Aides-territoires with a generated catalogue (GENERATED DATA: no aid is real)."""
    config = FakeConfig(
        aids=aids,
        seed=seed,
        api_key=api_key,
        today=dt.date.fromisoformat(today) if today else None,
        quirks=Quirks(token_ttl=token_ttl, token_uses=token_uses, error_every=error_every),
    )
    typer.echo(
        f"fake Aides-territoires: GENERATED catalogue of {aids} fictitious aids (seed {seed}) "
        f"on http://127.0.0.1:{port}",
        err=True,
    )
    uvicorn.run(
        create_fake_app(config),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


def main() -> None:
    typer.run(serve)
