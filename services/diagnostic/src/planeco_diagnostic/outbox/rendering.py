"""The outbox's e-mails, plain text and HTML, from the Jinja2 templates of `templates/` (French texts).

A template `x` is two files, `x.txt.j2` and `x.html.j2`; HTML is autoescaped (a collectivité's name or a
campaign's title cannot inject markup), the text part is not. A variable the template uses and the context
lacks is an error at enqueue time (StrictUndefined), never an empty gap in a sent mail; only the names of
`OPTIONAL` may be left out (they are then null, and the templates say nothing of them).

The templates shipped: `invitation` and `relance` (a reminder), with `region_name`, `campaign_title`,
`collectivite_name`, `opens_on`, `closes_on` (dates as they should read, `5 janvier 2027`), `link`, and the
optional `recipient_name`, `coordinator_name`, `coordinator_email`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, UndefinedError

TEMPLATES = Path(__file__).parent / "templates"
OPTIONAL = ("recipient_name", "coordinator_name", "coordinator_email")

_html = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True
)
_text = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=False,  # noqa: S701 (the plain-text part: no markup to escape; HTML is autoescaped)
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


class TemplateError(ValueError):
    """An unknown template, or a context that lacks what it uses."""


def template_names() -> list[str]:
    return sorted(path.name.removesuffix(".txt.j2") for path in TEMPLATES.glob("*.txt.j2"))


def render(template: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """(plain text, HTML) of `template` with `context`."""
    context = dict.fromkeys(OPTIONAL) | dict(context)
    try:
        text = _text.get_template(f"{template}.txt.j2").render(context)
        html = _html.get_template(f"{template}.html.j2").render(context)
    except TemplateNotFound as exc:
        raise TemplateError(
            f"no e-mail template {template!r} (known: {', '.join(template_names())})"
        ) from exc
    except UndefinedError as exc:
        raise TemplateError(f"e-mail template {template!r}: {exc.message}") from exc
    return text, html
