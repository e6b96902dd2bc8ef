"""The territory that owns a thing (a questionnaire, a campaign, a roadmap, a catalogue of support
measures): the nation, a région or a département, never a hard-wired région code, so that a COP run at
département level uses the same code as a régional one.

- In the API: `owner: {"level": "region"|"departement", "code": "…"}`, or null for a national one; in a
  query: `owner=nation|region:24|departement:45` (`OWNER_QUERY_PATTERN`, `parse_owner`).
- In the database: `OwnedMixin` (level, code and the owner's région, so that scope checks need no lookup).
- `resolve_owner` checks the territory against the levers service (422 naming the field otherwise);
  `ensure_may_manage` says who may write what it owns: admins anything, national things only admins,
  coordinators what lies in their territory (`planeco_shared.scopes`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Enum, String
from sqlalchemy.orm import Mapped, mapped_column

from planeco_shared.clients.base import ReferenceCheck
from planeco_shared.clients.levers import LeversClient
from planeco_shared.codes import DEPARTEMENT_PATTERN, REGION_PATTERN
from planeco_shared.identity import Principal, Role
from planeco_shared.problems import Forbidden
from planeco_shared.scopes import NATION, Territory, ensure_may_act_on

OWNER_QUERY_PATTERN = r"^(nation|region:\d{2}|departement:(\d{2}|2[AB]|97\d))$"


class OwnerLevel(StrEnum):
    """The level of the territory that owns a thing (`nation`: a national one)."""

    nation = "nation"
    region = "region"
    departement = "departement"


class OwningLevel(StrEnum):
    """The levels that own things below the nation (the nation itself owns through a null owner)."""

    region = "region"
    departement = "departement"


class Owner(BaseModel):
    """The owning région or département (null where an owner is optional: national)."""

    model_config = ConfigDict(extra="forbid")

    level: OwningLevel = Field(examples=["region"])
    code: str = Field(
        description="INSEE code of the région (2 digits) or of the département (`45`, `2A`, `974`)",
        examples=["24"],
    )

    @model_validator(mode="after")
    def _code_of_its_level(self) -> Owner:
        pattern = REGION_PATTERN if self.level == "region" else DEPARTEMENT_PATTERN
        if not re.match(pattern, self.code):
            raise ValueError(f"{self.code!r} is not the INSEE code of a {self.level}")
        return self


def parse_owner(text: str) -> Owner | None:
    """`nation` → None; `region:24`, `departement:45` → the owner (`text` matched OWNER_QUERY_PATTERN)."""
    if text == "nation":
        return None
    level, _, code = text.partition(":")
    return Owner.model_validate({"level": level, "code": code})


@dataclass(frozen=True, slots=True)
class ResolvedOwner:
    """An owner known to exist, with the région it lies in."""

    level: OwnerLevel
    code: str | None = None  # None for the nation
    region: str | None = None

    @property
    def territory(self) -> Territory:
        if self.level is OwnerLevel.nation or self.code is None:
            return NATION
        if self.level is OwnerLevel.region:
            return Territory.region(self.code)
        return Territory.departement(self.code, region=self.region or "")

    @property
    def api(self) -> Owner | None:
        if self.level is OwnerLevel.nation or self.code is None:
            return None
        return Owner.model_validate({"level": self.level.value, "code": self.code})


NATIONAL = ResolvedOwner(OwnerLevel.nation)


async def resolve_owner(
    owner: Owner | None, *, levers: LeversClient, loc: Sequence[str | int]
) -> ResolvedOwner:
    """The owner, checked against the levers service's territories (422 naming `loc` + `code` when it
    names no territory)."""
    if owner is None:
        return NATIONAL
    check = ReferenceCheck()
    if owner.level == "region":
        await check.exists(levers.get_region(owner.code), loc=[*loc, "code"], what=f"région {owner.code}")
        check.raise_if_any()
        return ResolvedOwner(OwnerLevel.region, owner.code, owner.code)
    departement = await check.exists(
        levers.get_departement(owner.code), loc=[*loc, "code"], what=f"département {owner.code}"
    )
    check.raise_if_any()
    assert departement is not None
    return ResolvedOwner(OwnerLevel.departement, departement.code, departement.region)


def ensure_may_manage(principal: Principal, owner: ResolvedOwner) -> None:
    """403 unless the caller may write what `owner` owns: national things are the admins'."""
    if owner.level is OwnerLevel.nation:
        if principal.role is not Role.admin:
            raise Forbidden("Only national admins manage what the nation owns")
        return
    ensure_may_act_on(principal, owner.territory)


class OwnedMixin:
    """The owner's columns: level, code (null for the nation) and the région it lies in."""

    owner_level: Mapped[OwnerLevel] = mapped_column(
        Enum(OwnerLevel, native_enum=False, length=20), default=OwnerLevel.nation, index=True
    )
    owner_code: Mapped[str | None] = mapped_column(String(3), index=True)
    owner_region: Mapped[str | None] = mapped_column(String(3), index=True)

    @property
    def owner(self) -> ResolvedOwner:
        return ResolvedOwner(self.owner_level, self.owner_code, self.owner_region)
