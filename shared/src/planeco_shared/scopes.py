"""Territory scopes: what a caller may act on and what it may see, at any territory level.

Every caller's scope is a territory: the nation (admin, reader), a région or a département (coordinator:
`24`, `region:24` or `departement:45`), a collectivité (contributor: the SIREN or INSEE code of a
département, an EPCI or a commune, whose départements and régions the levers service knows).

- **Act** (write): an admin anywhere; a coordinator on its territory and on whatever lies in it; a
  contributor on its own collectivité only; a reader nowhere. `ensure_may_act_on(principal, target)`
  needs no lookup: the target carries where it lies.
- **See** (non-public reads): admins and readers everything; coordinators and contributors what lies in
  the régions of their territory: every participant of a région's COP sees its work, only those in
  charge change it. `ScopeResolver.visible_regions(principal)` resolves a collectivité once (cached:
  the COG changes once a year), and `visible(column, regions)` filters a list query with it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, true
from sqlalchemy.orm import InstrumentedAttribute

from planeco_shared.clients.base import UpstreamNotFound
from planeco_shared.clients.levers import LeversClient
from planeco_shared.codes import DEPARTEMENT_PATTERN, REGION_PATTERN
from planeco_shared.identity import Principal, Role
from planeco_shared.problems import Forbidden

REGION_CODE = re.compile(REGION_PATTERN)
DEPARTEMENT_CODE = re.compile(DEPARTEMENT_PATTERN)


class Level(StrEnum):
    nation = "nation"
    region = "region"
    departement = "departement"
    epci = "epci"
    crte = "crte"  # a CRTE contract's perimeter (most are one EPCI): acted on by its région's coordinators
    commune = "commune"


@dataclass(frozen=True, slots=True)
class Territory:
    """A territory and where it lies (itself included): enough to decide any scope question."""

    level: Level
    code: str  # INSEE code; SIREN for an EPCI
    regions: frozenset[str] = frozenset()
    departements: frozenset[str] = frozenset()
    epcis: frozenset[str] = frozenset()
    siren: str | None = None

    @classmethod
    def region(cls, code: str) -> Territory:
        return cls(Level.region, code, regions=frozenset({code}))

    @classmethod
    def departement(cls, code: str, *, region: str) -> Territory:
        return cls(Level.departement, code, regions=frozenset({region}), departements=frozenset({code}))

    def lies_in(self, other: Territory) -> bool:
        if other.level is Level.nation:
            return True
        if other.level is Level.region:
            return other.code in self.regions
        if other.level is Level.departement:
            return other.code in self.departements
        if other.level is Level.epci and other.code in self.epcis:
            return True
        return self.is_(other.code) and self.level is other.level

    def is_(self, identifier: str) -> bool:
        """Whether a scope's identifier (INSEE code or SIREN) names this territory."""
        return identifier in (self.code, self.siren)


NATION = Territory(Level.nation, "FR")


@dataclass(frozen=True, slots=True)
class ScopeRef:
    """What a principal's `territory` claim names, before any lookup."""

    level: Level | None  # None: a contributor's collectivité, whose level is known once resolved
    identifier: str


def scope_ref(principal: Principal) -> ScopeRef | None:
    """None for national callers (admin, reader) and for anonymous ones (who act on nothing)."""
    territory = principal.territory
    if principal.role in (Role.admin, Role.reader, Role.anonymous) or not territory:
        return None
    if principal.role is Role.coordinator:
        kind, _, code = territory.rpartition(":")
        if kind in ("", "region") and REGION_CODE.match(code):
            return ScopeRef(Level.region, code)
        if kind == "departement" and DEPARTEMENT_CODE.match(code):
            return ScopeRef(Level.departement, code)
        return None
    return ScopeRef(None, territory)


def may_act_on(principal: Principal, target: Territory) -> bool:
    if principal.role is Role.admin:
        return True
    ref = scope_ref(principal)
    if ref is None:
        return False
    if principal.role is Role.coordinator:
        if ref.level is Level.region:
            return ref.identifier in target.regions
        return ref.identifier in target.departements
    if principal.role is Role.contributor:
        return target.level is not Level.region and target.is_(ref.identifier)
    return False


def ensure_may_act_on(principal: Principal, target: Territory) -> None:
    if not may_act_on(principal, target):
        label = "the nation" if target.level is Level.nation else f"{target.level.value} {target.code}"
        raise Forbidden(f"Your role and territory do not allow acting on {label}")


def visible(column: InstrumentedAttribute[Any], regions: frozenset[str] | None) -> ColumnElement[bool]:
    """A WHERE clause keeping the rows of the régions a caller may see (None: all of them)."""
    if regions is None:
        return true()
    return column.in_(sorted(regions))


@dataclass(slots=True)
class ScopeResolver:
    """Resolves what a principal's territory names, through the levers service, and keeps it."""

    levers: LeversClient
    ttl_seconds: float = 600.0
    _resolved: dict[str, tuple[Territory | None, float]] = field(default_factory=dict)

    async def territory_of(self, principal: Principal) -> Territory | None:
        """The caller's own territory (NATION for national callers); None when it names nothing known."""
        if principal.role in (Role.admin, Role.reader):
            return NATION
        ref = scope_ref(principal)
        if ref is None:
            return None
        if ref.level is Level.region:
            return Territory.region(ref.identifier)
        key = f"{ref.level or 'collectivite'}:{ref.identifier}"
        cached = self._resolved.get(key)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        territory = await self._lookup(ref)
        if len(self._resolved) >= 4096:
            self._resolved.clear()
        self._resolved[key] = (territory, now + self.ttl_seconds)
        return territory

    async def visible_regions(self, principal: Principal) -> frozenset[str] | None:
        """The régions whose non-public data the caller may read; None: all (national callers)."""
        territory = await self.territory_of(principal)
        if territory is None:
            return frozenset()
        return None if territory.level is Level.nation else territory.regions

    async def _lookup(self, ref: ScopeRef) -> Territory | None:
        try:
            if ref.level is Level.departement:
                departement = await self.levers.get_departement(ref.identifier)
                return Territory.departement(departement.code, region=departement.region)
            found = await self.levers.get_collectivite(ref.identifier)
        except UpstreamNotFound:
            return None
        return Territory(
            Level(found.level),
            found.code,
            regions=frozenset(found.regions),
            departements=frozenset(found.departements),
            epcis=frozenset({found.epci}) if found.epci else frozenset(),
            siren=found.siren,
        )
