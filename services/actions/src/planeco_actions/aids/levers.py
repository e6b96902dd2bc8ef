"""Aids → levers: the lever mapping and how it applies.

A rule names an Aides-territoires category (a whole « Thème / Catégorie » label), optional keywords and the
lever ids it gives. It applies to an aid that has that category (case and accents aside) and, when it has
keywords, whose plain text (`search_text`: name, texts, categories, financers, programs, folded) contains
one of them. An aid serves the union of the levers of the rules that apply, and says which rules gave each
(`lever_rules`). The shipped default (`services/actions/data/aids-lever-mapping/default.json`, covering every
mainland lever of the latest panorama) applies until an administrator saves another
(`PUT /aids/lever-mapping`); the catalogue is recomputed then, and after each sync (only the aids whose
levers changed are written).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.aids.parsing import fold
from planeco_actions.aids.repository import AidRepository

DEFAULT_MAPPING = Path(__file__).resolve().parents[3] / "data" / "aids-lever-mapping" / "default.json"


@cache
def default_mapping() -> dict[str, Any]:
    mapping: dict[str, Any] = json.loads(DEFAULT_MAPPING.read_text(encoding="utf-8"))
    return mapping


def default_rules() -> list[dict[str, Any]]:
    return [dict(rule) for rule in default_mapping()["rules"]]


class CompiledRules:
    """The rules by folded category, their keywords folded: what matching an aid needs."""

    def __init__(self, rules: Iterable[dict[str, Any]]) -> None:
        self.by_category: dict[str, list[tuple[str, tuple[str, ...], tuple[str, ...]]]] = {}
        for rule in rules:
            keywords = tuple(fold(k).strip() for k in rule.get("keywords") or ())
            entry = (str(rule["id"]), keywords, tuple(rule["lever_ids"]))
            self.by_category.setdefault(fold(rule["category"]).strip(), []).append(entry)

    def match(self, categories: Sequence[str], search_text: str) -> dict[str, list[str]]:
        """lever id → the ids of the rules that gave it, both sorted."""
        levers: dict[str, set[str]] = {}
        for category in categories:
            for rule_id, keywords, lever_ids in self.by_category.get(fold(category).strip(), ()):
                if keywords and not any(k in search_text for k in keywords):
                    continue
                for lever_id in lever_ids:
                    levers.setdefault(lever_id, set()).add(rule_id)
        return {lever_id: sorted(levers[lever_id]) for lever_id in sorted(levers)}


def lever_keys(levers: dict[str, list[str]]) -> str:
    return "".join(f"|{lever_id}" for lever_id in levers) + "|" if levers else ""


async def current_rules(session: AsyncSession) -> list[dict[str, Any]]:
    saved = await AidRepository(session).lever_mapping()
    return list(saved.rules) if saved is not None else default_rules()


async def apply_mapping(session: AsyncSession, rules: Iterable[dict[str, Any]]) -> int:
    """Recompute the levers of every aid, CHUNK at a time, read as plain rows (memory flat in the
    catalogue); write only those that changed, in one executemany a chunk. Returns how many changed."""
    compiled = CompiledRules(rules)
    repository = AidRepository(session)
    changed = 0
    async for chunk in repository.lever_inputs():
        updates = []
        for aid_id, categories, search_text, current in chunk:
            levers = compiled.match(categories or [], search_text or "")
            if levers != (current or {}):
                updates.append({"id": aid_id, "lever_rules": levers, "lever_keys": lever_keys(levers)})
        await repository.set_levers(updates)
        changed += len(updates)
    return changed
