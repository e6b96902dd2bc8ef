"""`planeco openapi export|check`: the checked-in public contract (openapi.json at the repo root), and the
JSON Schemas of the documents it carries (contract/questionnaire-document.schema.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from planeco_actions.app import create_app as create_actions
from planeco_diagnostic.app import create_app as create_diagnostic
from planeco_diagnostic.questionnaires.document import document_json_schema
from planeco_gateway import openapi
from planeco_levers.app import create_app as create_levers

CONTRACT_PATH = Path(__file__).resolve().parents[2] / "openapi.json"
QUESTIONNAIRE_SCHEMA_PATH = CONTRACT_PATH.parent / "contract" / "questionnaire-document.schema.json"

app = typer.Typer(help="The public OpenAPI contract.", no_args_is_help=True)


def service_documents() -> dict[str, dict[str, Any]]:
    return {
        "levers": create_levers().openapi(),
        "diagnostic": create_diagnostic().openapi(),
        "actions": create_actions().openapi(),
    }


def build() -> str:
    return openapi.dumps(openapi.merge(service_documents()))


def questionnaire_schema() -> str:
    """The questionnaire document's JSON Schema, as checked in (GET /questionnaires/document-schema)."""
    return json.dumps(document_json_schema(), indent=2, ensure_ascii=False) + "\n"


@app.command()
def export(path: Annotated[Path, typer.Option(help="Where to write")] = CONTRACT_PATH) -> None:
    """Write the merged contract from the code."""
    path.write_text(build(), encoding="utf-8")
    typer.echo(f"wrote {path}")
    QUESTIONNAIRE_SCHEMA_PATH.write_text(questionnaire_schema(), encoding="utf-8")
    typer.echo(f"wrote {QUESTIONNAIRE_SCHEMA_PATH}")


@app.command()
def check(path: Annotated[Path, typer.Option(help="The checked-in contract")] = CONTRACT_PATH) -> None:
    """Fail when the code and the checked-in contract differ."""
    if path.read_text(encoding="utf-8") != build():
        typer.echo("openapi.json is out of date: run `planeco openapi export` and review the diff", err=True)
        raise typer.Exit(1)
    typer.echo("contract up to date")
