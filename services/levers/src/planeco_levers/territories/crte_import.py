"""CRTE perimeters from an uploaded CSV: validated row by row, all-or-nothing, idempotent.

The file replaces the CRTE set of every région it covers (see CSV_FORMAT, which the endpoint shows).
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_levers.db import AuditEntry
from planeco_levers.territories.models import Commune, Crte, CrteMember
from planeco_levers.territories.repository import TerritoryRepository
from planeco_levers.territories.schemas import CrteImportReport
from planeco_levers.territories.service import attach_group
from planeco_shared.audit import record
from planeco_shared.codes import COMMUNE_PATTERN, SIREN_PATTERN
from planeco_shared.identity import Principal
from planeco_shared.problems import FieldError, Forbidden, UnprocessableEntity
from planeco_shared.scopes import Territory, ensure_may_act_on
from planeco_shared.upsert import upsert

CSV_FORMAT = """\
**CSV format.** UTF-8 (a byte-order mark is accepted), separator `,` or `;` (detected on the header
line), a header row, then **one row per member**:

| column | content |
|---|---|
| `crte_id` | identifier of the CRTE (the ANCT one): letters, digits, `_`, `-`, `.`; at most 40 characters |
| `crte_name` | its name, the same on every row of the CRTE (at most 200 characters) |
| `member` | SIREN (9 digits) of an EPCI à fiscalité propre, or INSEE code (5 characters) of a commune |

Column names are case-insensitive and may come in any order; other columns are ignored.

**Rules.** All or nothing: if any row is invalid nothing changes and the problem lists every error
(up to 200) as `errors: [{loc: ["row", <n>, <column>], msg, type}]`, rows numbered as in a spreadsheet
(the header is row 1). Rejected: unknown codes (an EPT is not an EPCI), a member listed twice, a commune
covered twice (listed itself and through its EPCI, or by a CRTE of a région the file does not cover),
a CRTE id that already belongs to a région the file does not cover, a member outside the région of its
CRTE (a commune lies in one région; an EPCI whose communes span several lies in each of them and may belong
to a CRTE of any). Each CRTE lies in the région holding most of its population (ties → lowest code); a
coordinator may only upload CRTE of their own région
(403 otherwise), an admin any. **The file replaces the CRTE set of every région it covers**: CRTE of
those régions that it does not list are deleted, so uploading the same file again changes nothing.

**`?region=<INSEE code>`** names the région whose set the file replaces: every CRTE of the file must then
lie in it (422 otherwise, by row), and a file holding only the header row empties that région's set.
Without it, a file must list at least one CRTE.
"""

COLUMNS = ("crte_id", "crte_name", "member")
MAX_ERRORS = 200
MAX_ROWS = 100_000
CRTE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
SIREN = re.compile(SIREN_PATTERN)
COMMUNE_CODE = re.compile(COMMUNE_PATTERN)


@dataclass
class Row:
    number: int  # as in a spreadsheet: the header is row 1
    crte_id: str
    crte_name: str
    member: str
    is_epci: bool


@dataclass
class Planned:
    """A CRTE as the file defines it."""

    id: str
    name: str
    first_row: int
    epcis: set[str] = field(default_factory=set)
    communes: set[str] = field(default_factory=set)
    covered: list[Commune] = field(default_factory=list)


class Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, row: int, column: str, msg: str, kind: str) -> None:
        self.items.append(FieldError(loc=["row", row, column], msg=msg, type=kind))

    def raise_if_any(self) -> None:
        if self.items:
            shown = self.items[:MAX_ERRORS]
            more = f" ({len(self.items) - len(shown)} more not shown)" if len(self.items) > len(shown) else ""
            raise UnprocessableEntity(
                f"The CSV has {len(self.items)} invalid row(s); nothing was imported{more}", errors=shown
            )


def parse(content: bytes, errors: Errors, *, may_be_empty: bool = False) -> list[Row]:
    """Decode and parse the file: the well-formed rows; the others' errors go to `errors`.

    An unreadable file (encoding, missing columns) raises 422 at once."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnprocessableEntity(
            "The file must be UTF-8 text",
            errors=[FieldError(loc=["body"], msg=f"not UTF-8 at byte {exc.start}", type="encoding")],
        ) from exc
    header_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=header_line.count)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:  # e.g. a cell longer than the csv module's field limit
        raise UnprocessableEntity(
            "The file is not readable as CSV",
            errors=[FieldError(loc=["body"], msg=str(exc), type="csv")],
        ) from exc
    header = [h.strip().lower() for h in records[0]] if records else []
    missing = [c for c in COLUMNS if c not in header]
    for column in missing:
        errors.add(1, column, f"missing column {column!r} (header: {', '.join(COLUMNS)})", "missing_column")
    errors.raise_if_any()
    if len(records) - 1 > MAX_ROWS:
        raise UnprocessableEntity(f"The file has more than {MAX_ROWS} rows")
    index = {column: header.index(column) for column in COLUMNS}
    rows: list[Row] = []
    for number, record_ in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record_):
            continue  # blank line (often the last one)
        values = {c: record_[i].strip() if i < len(record_) else "" for c, i in index.items()}
        crte_id, name, member = values["crte_id"], values["crte_name"], values["member"].upper()
        valid = True
        if not CRTE_ID.match(crte_id):
            errors.add(number, "crte_id", "expected letters, digits, _ - . (1 to 40 characters)", "format")
            valid = False
        if not name or len(name) > 200 or not name.isprintable():  # PostgreSQL refuses NUL in text
            errors.add(number, "crte_name", "expected a name of 1 to 200 printable characters", "format")
            valid = False
        is_epci = bool(SIREN.match(member))
        if not is_epci and not COMMUNE_CODE.match(member):
            hint = " (a spreadsheet may have dropped a leading zero)" if member.isdigit() else ""
            errors.add(
                number,
                "member",
                f"{member!r} is neither a SIREN (9 digits) nor an INSEE commune code (5 characters){hint}",
                "format",
            )
            valid = False
        if valid:
            rows.append(Row(number, crte_id, name, member, is_epci))
    if not rows and not errors.items and not may_be_empty:
        errors.add(
            2, "crte_id", "the file lists no CRTE (to empty a région's set, name it: ?region=)", "empty"
        )
    return rows


async def import_crte_csv(
    session: AsyncSession, content: bytes, *, principal: Principal, region: str | None = None
) -> CrteImportReport:
    """`region`: the one région whose set the file replaces (then the file may be empty)."""
    repository = TerritoryRepository(session)
    if region is not None:
        if await repository.get_region(region) is None:
            raise UnprocessableEntity(
                f"No région with INSEE code {region!r}",
                errors=[FieldError(loc=["query", "region"], msg="unknown région", type="unknown_code")],
            )
        ensure_may_act_on(principal, Territory.region(region))
    errors = Errors()
    rows = parse(content, errors, may_be_empty=region is not None)
    epcis = await repository.epcis_by_siren({r.member for r in rows if r.is_epci})
    communes = await repository.communes_by_code({r.member for r in rows if not r.is_epci})
    unknown_sirens = {r.member for r in rows if r.is_epci and r.member not in epcis}
    epts = {siren for siren in unknown_sirens if await repository.get_ept(siren) is not None}

    planned: dict[str, Planned] = {}
    listed_at: dict[str, int] = {}
    for row in rows:
        crte = planned.setdefault(row.crte_id, Planned(row.crte_id, row.crte_name, row.number))
        if row.crte_name != crte.name:
            errors.add(
                row.number,
                "crte_name",
                f"{crte.id} is named {crte.name!r} at row {crte.first_row}",
                "mismatch",
            )
        if row.member in listed_at:
            errors.add(
                row.number,
                "member",
                f"{row.member} is already listed at row {listed_at[row.member]}",
                "duplicate",
            )
            continue
        listed_at[row.member] = row.number
        if row.is_epci and row.member not in epcis:
            why = "an EPT, which is not an EPCI à fiscalité propre" if row.member in epts else "unknown"
            errors.add(row.number, "member", f"SIREN {row.member}: {why}", "unknown_code")
        elif not row.is_epci and row.member not in communes:
            errors.add(row.number, "member", f"no commune with INSEE code {row.member}", "unknown_code")
        else:
            (crte.epcis if row.is_epci else crte.communes).add(row.member)
    errors.raise_if_any()

    # Which CRTE covers each commune, and from which row: a commune may be covered once only.
    members_by_epci: defaultdict[str, list[Commune]] = defaultdict(list)
    for commune in await repository.communes_of_epcis(epcis.keys()):
        if commune.epci_siren is not None:
            members_by_epci[commune.epci_siren].append(commune)
    covered_by: dict[str, tuple[str, int]] = {}
    for row in rows:
        crte = planned[row.crte_id]
        covered = members_by_epci[row.member] if row.is_epci else [communes[row.member]]
        for commune in covered:
            if commune.code in covered_by:
                other, at = covered_by[commune.code]
                errors.add(
                    row.number,
                    "member",
                    f"commune {commune.code} {commune.name} is already covered by CRTE {other} (row {at})",
                    "overlap",
                )
                break
            covered_by[commune.code] = (crte.id, row.number)
            crte.covered.append(commune)
    errors.raise_if_any()

    attached = {
        crte.id: attach_group((c.region_code, c.departement_code, c.population) for c in crte.covered)
        for crte in planned.values()
    }
    region_of = {crte_id: region for crte_id, (region, _departement) in attached.items()}
    # Every member lies in the région of its CRTE (the file's, when named): a région's file cannot take
    # another région's territory (which that région could then no longer put in a CRTE of its own). An EPCI
    # whose communes span several régions lies in each of them, so it may belong to a CRTE of any.
    for row in rows:
        target = region if region is not None else region_of[row.crte_id]
        covered = members_by_epci[row.member] if row.is_epci else [communes[row.member]]
        lies_in = sorted({commune.region_code for commune in covered})
        if target not in lies_in:
            kind = f"EPCI {row.member}" if row.is_epci else f"commune {row.member}"
            errors.add(
                row.number,
                "member",
                f"{kind} lies in région {', '.join(lies_in)}, not in région {target} of CRTE {row.crte_id}",
                "wrong_region",
            )
    errors.raise_if_any()
    if region is not None:
        for crte in planned.values():
            if region_of[crte.id] != region:
                errors.add(
                    crte.first_row,
                    "crte_id",
                    f"CRTE {crte.id} lies in région {region_of[crte.id]} (most of its population), "
                    f"not {region}",
                    "wrong_region",
                )
        errors.raise_if_any()
    regions = [region] if region is not None else sorted(set(region_of.values()))
    outside = [r for r in regions if not _in_scope(principal, r)]
    if outside:
        ids = sorted(i for i, r in region_of.items() if r in outside)
        raise Forbidden(f"CRTE {', '.join(ids)} lie in région(s) {', '.join(outside)}, outside your scope")

    # CRTE of the régions the file does not cover stay: the file must not collide with them.
    existing = await repository.crtes()
    kept = {c.id: c for c in existing if c.region_code not in regions}
    for crte in planned.values():
        if crte.id in kept:
            errors.add(
                crte.first_row,
                "crte_id",
                f"CRTE {crte.id} belongs to région {kept[crte.id].region_code}, not covered by this file",
                "conflict",
            )
    for crte_id, commune in await repository.crte_covered_communes(kept.keys()) if kept else []:
        if commune.code in covered_by:
            _, at = covered_by[commune.code]
            errors.add(
                at,
                "member",
                f"commune {commune.code} {commune.name} is already covered by CRTE {crte_id} "
                f"(région {kept[crte_id].region_code})",
                "overlap",
            )
    errors.raise_if_any()

    replaced = {c.id: c for c in existing if c.region_code in regions}
    before = await _snapshots(repository, replaced.values())
    after: dict[str, dict[str, Any]] = {
        crte.id: {
            "name": crte.name,
            "region": region_of[crte.id],
            "departement": attached[crte.id][1],
            "population": sum(c.population for c in crte.covered),
            "members": sorted(crte.epcis | crte.communes),
        }
        for crte in planned.values()
    }
    created = sorted(set(after) - set(before))
    deleted = sorted(set(before) - set(after))
    updated = sorted(i for i in set(after) & set(before) if after[i] != before[i])
    await repository.delete_crtes([*deleted, *updated])
    changed = [*created, *updated]
    await upsert(
        session,
        Crte,
        [
            {
                "id": i,
                "name": after[i]["name"],
                "region_code": after[i]["region"],
                "departement_code": after[i]["departement"],
                "population": after[i]["population"],
            }
            for i in changed
        ],
        key=["id"],
    )
    member_rows: list[dict[str, Any]] = [
        {"crte_id": i, "epci_siren": m, "commune_code": None}
        if m in planned[i].epcis
        else {"crte_id": i, "epci_siren": None, "commune_code": m}
        for i in changed
        for m in after[i]["members"]
    ]
    if member_rows:
        await session.execute(insert(CrteMember), member_rows)

    # One audit entry per région whose set changed: old → new of each CRTE created, updated or deleted.
    changes_by_region: defaultdict[str, dict[str, Any]] = defaultdict(dict)
    for crte_id in [*created, *updated, *deleted]:
        old, new = before.get(crte_id), after.get(crte_id)
        for state in (old, new):
            if state is not None:
                changes_by_region[state["region"]][crte_id] = {"old": old, "new": new}
    for region, changes in sorted(changes_by_region.items()):
        record(
            session,
            AuditEntry,
            principal=principal,
            action="import",
            entity_type="crte_set",
            entity_id=region,
            changes=changes,
        )
    await session.flush()
    return CrteImportReport(
        regions=regions,
        crte=len(planned),
        members=len(rows),
        created=created,
        updated=updated,
        deleted=deleted,
        unchanged=len(planned) - len(created) - len(updated),
    )


def _in_scope(principal: Principal, region: str) -> bool:
    try:
        ensure_may_act_on(principal, Territory.region(region))
    except Forbidden:
        return False
    return True


async def _snapshots(repository: TerritoryRepository, crtes: Any) -> dict[str, dict[str, Any]]:
    crtes = list(crtes)
    members: defaultdict[str, list[str]] = defaultdict(list)
    for member in await repository.crte_members([c.id for c in crtes]):
        members[member.crte_id].append(member.epci_siren or member.commune_code or "")
    return {
        c.id: {
            "name": c.name,
            "region": c.region_code,
            "departement": c.departement_code,
            "population": c.population,
            "members": sorted(members[c.id]),
        }
        for c in crtes
    }
