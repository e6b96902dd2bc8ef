"""A roadmap as a spreadsheet: one row per COP action, the columns its import reads and its export writes
(the same ones, so that a file exported then imported again changes nothing: its rows name their actions by
planeco id, external id or not).

Cells that hold several things (carriers, budget lines, phases, other impacts) use one compact syntax:
items separated by `|`, the fields of an item by `:`, and a backslash before a `|`, a `:` or a `\\` that
belongs to a value (`DREAL Centre\\: service climat`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from planeco_actions.actions.models import Action
from planeco_actions.actions.schemas import ImpactUnit
from planeco_shared.sheets import split_list
from planeco_shared.tabular import Column, Kind, Metadata, Table

IMPORT_FORMAT = """\
**File.** CSV (UTF-8, `;` or `,`) or XLSX (first sheet, or the one named `data`), a header row, then one row
per action (what `GET /actions/export` writes: its `#` metadata lines are skipped). Column names are
compared without case, accents or separators. A column the file leaves out leaves that field of existing
actions as it is (new actions take its default); an empty cell clears the field.

- `id`: planeco's id of the action (the export writes it): a row with one updates that action, which
  must exist, be on the caller's territory and on the row's `territory` (a row error otherwise; an
  action's territory does not change); leave it empty to name the action by `external_id`;
- `external_id` (the column is required; the cell when the row has no `id`): the sending system's id of
  the action, unique within its territory: a row without `id` updates the action of that territory with
  that external id, or creates it; with an `id`, the row sets the action's external id (empty: none);
- `title` (required); `description`;
- `territory` (required): `level:code`, the level among `region`, `departement`, `epci`, `crte`, `commune`
  and the official code (`region:24`, `departement:45`, `epci:244500468`, `commune:45234`);
- `lever_id`: the main lever (SGPE id, `augm_voitelec`); `other_lever_ids`: others, separated by `|`;
- `status`: `proposee` (default), `retenue`, `en_cours`, `realisee`, `abandonnee`;
- `nature`: `nouvelle`, `amplifiee`, `acceleree`, `reorientee`; `multi_acteurs`, `structurante`: `true` /
  `false` (also `oui` / `non`, `1` / `0`; false when empty); `published`: the same, false when empty;
- `start_date`, `end_date`: `YYYY-MM-DD`;
- `phases`: `phase:<label>:<start>:<end>` or `jalon:<label>:<date>`, separated by `|`;
- `carriers`, `partners`: `collectivite:<level>:<code>[:<role>]` for a collectivité, or
  `<kind>:<name>[:<role>]` for an organisation, `kind` among `etat`, `entreprise`, `association`, `autre`;
  separated by `|` (`collectivite:region:24:pilote|etat:DREAL Centre-Val de Loire:financeur`);
- `estimated_cost_eur`: the total estimate, euros (to the cent);
- `budget_lines`: `<year>:<financer>:<amount>:<planifie|acquis>[:<aid id>]`, separated by `|`
  (`2026:Région Centre-Val de Loire:150000:acquis|2027:ADEME:50000.50:planifie:162936`), the aid id
  being an aid of the catalogue (`GET /aids/{aid_id}`);
- `impact_value`, `impact_unit`, `impact_version`: the expected impact on the main lever, the value in
  `ktco2e` or in the lever's `physical` unit (the change it brings in 2030: thousands of electric cars,
  km of hedges…), converted at the panorama `impact_version` (empty: the version the action's impact on
  that lever already has, else the latest); `impact_unit` is required with a value;
- `other_impacts`: impacts on other levers, `<lever_id>:<value>:<ktco2e|physical>[:<version>]`, separated
  by `|`;
- `expected_impact_ktco2e`: read only (the export's sum of the impacts' ktCO2e): ignored on import.

Impacts are converted exactly as a single action's are (the levers service's factors for the action's
région, stored with their version; ROUND_HALF_EVEN to 0.0001 ktCO2e and 0.001 of the physical unit).
Documents are not in the file: an import leaves them as they are.
"""

REQUIRED = ("external_id", "title", "territory")
TEXT_COLUMNS = [
    Column(
        "external_id",
        description="The sending system's id, unique within the territory: names the action when the "
        "row has no id (required then)",
    ),
    Column("title"),
    Column("description"),
    Column("territory", description="level:code (region:24, departement:45, epci:244500468…)"),
    Column("territory_name", description="Read only: the territory's official name (ignored on import)"),
    Column("lever_id", description="The main lever"),
    Column("other_lever_ids", description="Other levers, separated by |"),
    Column("status", description="proposee, retenue, en_cours, realisee, abandonnee"),
    Column("nature", description="nouvelle, amplifiee, acceleree, reorientee"),
    Column("multi_acteurs", description="true or false"),
    Column("structurante", description="true or false"),
    Column("start_date", description="YYYY-MM-DD"),
    Column("end_date", description="YYYY-MM-DD"),
    Column("phases", description="phase:label:start:end or jalon:label:date, separated by |"),
    Column("carriers", description="collectivite:level:code[:role] or kind:name[:role], separated by |"),
    Column("partners", description="As carriers"),
    Column("estimated_cost_eur", kind=Kind.decimal, description="Total estimate, euros"),
    Column(
        "budget_lines",
        description="year:financer:amount:planifie|acquis[:aid id], separated by | (amounts in euros)",
    ),
    Column(
        "impact_value",
        kind=Kind.decimal,
        description="The expected impact on the main lever, as entered (see impact_unit)",
    ),
    Column("impact_unit", description="ktco2e, or physical (the lever's own unit)"),
    Column("impact_version", description="The panorama version that converted it"),
    Column(
        "other_impacts",
        description="lever_id:value:ktco2e|physical[:version] of other levers, separated by |",
    ),
    Column(
        "expected_impact_ktco2e",
        kind=Kind.decimal,
        description="Read only: the sum of the impacts in ktCO2e (ignored on import)",
    ),
    Column("published", description="true or false"),
    Column(
        "id",
        description="planeco's id of the action: a row with one updates that action (it must exist on "
        "your territory, on the row's territory); empty for an action named by external_id",
    ),
]
COLUMNS = tuple(column.name for column in TEXT_COLUMNS)
IGNORED = frozenset({"expected_impact_ktco2e", "territory_name"})
EXAMPLE = (
    "external_id;title;territory;lever_id;status;carriers;budget_lines;impact_value;impact_unit\n"
    "CVL-VE-01;Bornes de recharge;departement:45;augm_voitelec;retenue;collectivite:departement:45:pilote;"
    "2026:ADEME:150000:acquis;5;physical\n"
)
ITEM, FIELD, ESCAPE = "|", ":", "\\"
BOOLEANS = {"true": True, "false": False, "oui": True, "non": False, "1": True, "0": False, "yes": True}
BOOLEANS |= {"no": False, "vrai": True, "faux": False}


class CellError(ValueError):
    """A cell that does not follow its syntax (the message says how)."""


# The compact syntax


def escape(value: str) -> str:
    return value.replace(ESCAPE, ESCAPE * 2).replace(ITEM, ESCAPE + ITEM).replace(FIELD, ESCAPE + FIELD)


def _split(text: str, separator: str, *, unescape: bool) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == ESCAPE and index + 1 < len(text):
            current.append(text[index + 1] if unescape else text[index : index + 2])
            index += 2
            continue
        if char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    parts.append("".join(current))
    return parts


def items(cell: str) -> list[list[str]]:
    """'a:b|c\\:d:e' → [['a', 'b'], ['c:d', 'e']] (blank items dropped, fields stripped)."""
    found = []
    for item in _split(cell, ITEM, unescape=False):
        if item.strip():
            found.append([part.strip() for part in _split(item.strip(), FIELD, unescape=True)])
    return found


def join(rows: Sequence[Sequence[str]]) -> str:
    return ITEM.join(FIELD.join(escape(part) for part in row) for row in rows)


# Cells → the fields of an ActionCreate (pydantic then checks the values)


def _territory(cell: str) -> dict[str, str]:
    level, sep, code = cell.partition(":")
    if not sep or not code.strip():
        raise CellError("write the territory as level:code (region:24, departement:45, epci:244500468…)")
    return {"level": level.strip(), "code": code.strip()}


def _actors(cell: str) -> list[dict[str, Any]]:
    actors: list[dict[str, Any]] = []
    for parts in items(cell):
        kind = parts[0]
        if kind == "collectivite":
            if len(parts) not in (3, 4):
                raise CellError("a collectivité is collectivite:<level>:<code>[:<role>]")
            actor: dict[str, Any] = {"kind": kind, "territory": {"level": parts[1], "code": parts[2]}}
            role = parts[3] if len(parts) == 4 else ""
        else:
            if len(parts) not in (2, 3):
                raise CellError(
                    "an organisation is <kind>:<name>[:<role>] (a ':' in a name is written '\\:')"
                )
            actor = {"kind": kind, "name": parts[1]}
            role = parts[2] if len(parts) == 3 else ""
        if role:
            actor["role"] = role
        actors.append(actor)
    return actors


def _phases(cell: str) -> list[dict[str, Any]]:
    phases: list[dict[str, Any]] = []
    for parts in items(cell):
        if parts[0] == "jalon" and len(parts) == 3:
            phases.append({"kind": "jalon", "label": parts[1], "start_date": parts[2]})
        elif parts[0] == "phase" and len(parts) == 4:
            phases.append({"kind": "phase", "label": parts[1], "start_date": parts[2], "end_date": parts[3]})
        else:
            raise CellError("a phase is phase:<label>:<start>:<end>, a milestone jalon:<label>:<date>")
    return phases


def _budget_lines(cell: str) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for parts in items(cell):
        if len(parts) not in (4, 5):
            raise CellError("a budget line is <year>:<financer>:<amount>:<planifie|acquis>[:<aid id>]")
        line: dict[str, Any] = {
            "year": parts[0],
            "financer": parts[1],
            "amount_eur": parts[2].replace(",", "."),
            "status": parts[3],
        }
        if len(parts) == 5 and parts[4]:
            line["aid_id"] = parts[4]
        lines.append(line)
    return lines


def _impact(lever_id: str, value: str, unit: str, version: str) -> dict[str, Any]:
    if unit not in (ImpactUnit.ktco2e, ImpactUnit.physical):
        raise CellError("the impact's unit is ktco2e or physical")
    impact: dict[str, Any] = {"lever_id": lever_id, unit: value.replace(",", ".")}
    if version:
        impact["version"] = version
    return impact


def _other_impacts(cell: str) -> list[dict[str, Any]]:
    impacts = []
    for parts in items(cell):
        if len(parts) not in (3, 4):
            raise CellError("an impact is <lever_id>:<value>:<ktco2e|physical>[:<version>]")
        impacts.append(_impact(parts[0], parts[1], parts[2], parts[3] if len(parts) == 4 else ""))
    return impacts


def _boolean(cell: str) -> bool:
    value = BOOLEANS.get(cell.strip().lower())
    if value is None:
        raise CellError("write true or false (oui, non)")
    return value


def row_fields(cells: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The ActionCreate fields of a row's cells (only the columns the file has), and the cells that do not
    follow their syntax ({column: message}). `impacts` comes from the impact columns."""
    fields: dict[str, Any] = {}
    wrong: dict[str, str] = {}
    parsers = {
        "territory": _territory,
        "carriers": _actors,
        "partners": _actors,
        "phases": _phases,
        "budget_lines": _budget_lines,
        "multi_acteurs": _boolean,
        "structurante": _boolean,
        "published": _boolean,
        "other_lever_ids": split_list,
    }
    empty: dict[str, Any] = {
        "carriers": [],
        "partners": [],
        "phases": [],
        "budget_lines": [],
        "other_lever_ids": [],
        "multi_acteurs": False,
        "structurante": False,
        "published": False,
        "description": "",
        "status": "proposee",
    }
    for name, cell in cells.items():
        if name in IGNORED or name.startswith("impact_") or name == "other_impacts":
            continue
        if not cell:
            fields[name] = empty.get(name)
            continue
        parser = parsers.get(name)
        try:
            fields[name] = parser(cell) if parser is not None else cell
        except CellError as error:
            wrong[name] = str(error)
    impact_columns = {"impact_value", "impact_unit", "impact_version", "other_impacts"}
    if impact_columns & set(cells):
        impacts: list[dict[str, Any]] = []
        value, unit = cells.get("impact_value", ""), cells.get("impact_unit", "")
        if value or unit:
            lever_id = cells.get("lever_id", "")
            if not value or not unit:
                wrong["impact_value" if not value else "impact_unit"] = (
                    "give both impact_value and impact_unit"
                )
            elif not lever_id:
                wrong["impact_value"] = "an impact on the main lever needs lever_id"
            else:
                try:
                    impacts.append(_impact(lever_id, value, unit, cells.get("impact_version", "")))
                except CellError as error:
                    wrong["impact_unit"] = str(error)
        try:
            impacts += _other_impacts(cells.get("other_impacts", ""))
        except CellError as error:
            wrong["other_impacts"] = str(error)
        fields["impacts"] = impacts
    return fields, wrong


# An action → its row


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _actor_cell(actors: list[dict[str, Any]]) -> str:
    rows = []
    for actor in actors:
        territory = actor.get("territory")
        if territory:
            row = ["collectivite", territory["level"], territory["code"]]
        else:
            row = [actor["kind"], actor["name"]]
        rows.append([*row, actor["role"]] if actor.get("role") else row)
    return join(rows)


def _phase_cell(phases: list[dict[str, Any]]) -> str:
    return join(
        [
            [phase["kind"], phase["label"], phase["start_date"]]
            + ([phase["end_date"]] if phase.get("end_date") else [])
            for phase in phases
        ]
    )


def _budget_cell(lines: list[dict[str, Any]]) -> str:
    return join(
        [
            [str(line["year"]), line["financer"], str(line["amount_eur"]), line["status"]]
            + ([str(line["aid_id"])] if line.get("aid_id") is not None else [])
            for line in lines
        ]
    )


def _entered(impact: dict[str, Any]) -> str:
    return str(impact["ktco2e"] if impact["entered"] == ImpactUnit.ktco2e else impact["physical"])


def record(action: Action) -> dict[str, str | Decimal | None]:
    main = next((i for i in action.impacts if i["lever_id"] == action.lever_id), None)
    others = [i for i in action.impacts if main is None or i is not main]
    return {
        "external_id": action.external_id,
        "title": action.title,
        "description": action.description or None,
        "territory": f"{action.territory_level.value}:{action.territory_code}",
        "territory_name": action.territory_name or None,
        "lever_id": action.lever_id,
        "other_lever_ids": "|".join(action.other_lever_ids) or None,
        "status": action.status.value,
        "nature": action.nature.value if action.nature else None,
        "multi_acteurs": _bool(action.multi_acteurs),
        "structurante": _bool(action.structurante),
        "start_date": action.start_date.isoformat() if action.start_date else None,
        "end_date": action.end_date.isoformat() if action.end_date else None,
        "phases": _phase_cell(action.phases) or None,
        "carriers": _actor_cell(action.carriers) or None,
        "partners": _actor_cell(action.partners) or None,
        "estimated_cost_eur": action.estimated_cost_eur,
        "budget_lines": _budget_cell(action.budget_lines) or None,
        "impact_value": Decimal(_entered(main)) if main else None,
        "impact_unit": main["entered"] if main else None,
        "impact_version": main["version"] if main else None,
        "other_impacts": join(
            [
                [i["lever_id"], _entered(i), i["entered"]] + ([i["version"]] if i.get("version") else [])
                for i in others
            ]
        )
        or None,
        "expected_impact_ktco2e": action.expected_impact_ktco2e,
        "published": _bool(action.published),
        "id": str(action.id),
    }


def table(actions: Sequence[Action], metadata: Metadata) -> Table:
    return Table.from_records(metadata, TEXT_COLUMNS, (record(action) for action in actions))
