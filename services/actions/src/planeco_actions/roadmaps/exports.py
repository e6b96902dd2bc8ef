"""A roadmap read (`RoadmapRead`) as tables: its levers, its sectors (and the territory's total), the
actions' impacts per lever; for the live roadmap's exports, a publication's files and its data package,
which also has the actions' budget lines (one row per action and line: `budget_lines_table`).

The figures are the JSON read's, exactly (never rounded again): a `levers` row per lever (the sums of its
`actions` rows by status), a `sectors` row per sector (the sums of its levers) and a `total` row (the sum
of the sectors). Units are in the export headers (`[ktCO2e]`; `[unit: see column unit]` where levers of
different units share a column), as in the levers service's exports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from planeco_actions.roadmaps.repository import BudgetAction
from planeco_actions.roadmaps.schemas import Figures, RoadmapRead, RoadmapTable
from planeco_shared.datapackage import ETALAB_2, DataPackage, PackageResource, build_package
from planeco_shared.tabular import Column, Kind, Metadata, Table, Value

KT = "ktCO2e"
PHYSICAL = "unit: see column unit"
LICENCE = (
    "Licence Ouverte / Open Licence 2.0 (Etalab). Attribution: « Source : feuille de route de la COP, "
    "{territory} (planeco) ». The objectives come from the SGPE panorama of {version} (SGPE, simulateur "
    "territorial de la planification écologique, MTES-MCT/planification-territoires, licence MIT; « données "
    "de travail qui n'engagent en rien l'État »)."
)
SGPE_SOURCE = (
    "SGPE, simulateur territorial de la planification écologique (MTES-MCT/planification-territoires), "
    "panorama of {version}, through the planeco levers service"
)
ACTIONS_SOURCE = "planeco actions service: the COP actions of {territory}, as its coordinators recorded them"
SOURCE = SGPE_SOURCE + "; " + ACTIONS_SOURCE
EXACT_NOTE = (
    "Figures are the JSON roadmap's, exactly: ktCO2e are exact sums of the actions' stored impacts (4 "
    "places) and of the objectives; gap_physical is to 0.001 and covered_share to 0.0001 (ROUND_HALF_EVEN)."
)


def territory(view: RoadmapRead) -> str:
    return f"département {view.departement}" if view.departement else f"région {view.region}"


def _bool(value: bool) -> str:
    return "true" if value else "false"


FIGURE_COLUMNS = (
    Column("objective_ktco2e", KT, Kind.decimal, "The objective in use (official or adjusted)", "Objectif"),
    Column("realisee_ktco2e", KT, Kind.decimal, "Impact of the actions réalisées", "Actions réalisées"),
    Column("en_cours_ktco2e", KT, Kind.decimal, "Impact of the actions en cours", "Actions en cours"),
    Column("retenue_ktco2e", KT, Kind.decimal, "Impact of the actions retenues", "Actions retenues"),
    Column("committed_ktco2e", KT, Kind.decimal, "realisee + en_cours + retenue", "Impact engagé"),
    Column("proposee_ktco2e", KT, Kind.decimal, "Proposals, apart (not in the gap)", "Actions proposées"),
    Column("gap_ktco2e", KT, Kind.decimal, "objective − committed (negative: beyond)", "Reste à faire"),
    Column(
        "covered_share",
        None,
        Kind.decimal,
        "committed / objective, a fraction to 0.0001; empty when the objective is 0",
        "Part couverte",
    ),
    Column("expected_ktco2e", KT, Kind.decimal, "Where the straight path 2019 → 2030 stands", "Attendu"),
    Column("reached_ktco2e", KT, Kind.decimal, "What the actions reach so far", "Atteint"),
    Column("on_track", None, Kind.text, "`true` when reached ≥ expected", "En bonne voie"),
)
LEVER_COLUMNS = (
    Column("lever_id", description="The SGPE lever id", title="Levier"),
    Column("lever_name", description="The lever's name", title="Nom du levier"),
    Column("sector", description="Sector id", title="Secteur"),
    Column("unit", description="The lever's physical unit; empty when it has none", title="Unité"),
    Column("objective_source", description="`official` or `adjusted` (the région's own)", title="Origine"),
    Column("official_objective_ktco2e", KT, Kind.decimal, "The official objective", "Objectif officiel"),
    *FIGURE_COLUMNS,
    Column("ratio", "unit per ktCO2e: see column unit", Kind.decimal, "The région's ratio", "Ratio"),
    Column("gap_physical", PHYSICAL, Kind.decimal, "gap × ratio, to 0.001", "Reste à faire (unité)"),
    Column("action_count", None, Kind.integer, "How many actions are on the lever", "Nombre d'actions"),
    Column(
        "other_version_impacts",
        None,
        Kind.integer,
        "How many of its impacts are stored at another panorama version",
        "Impacts d'une autre version",
    ),
)
SECTOR_COLUMNS = (
    Column("row_type", description="`sector`, or `total` (every lever)", title="Type de ligne"),
    Column("sector", description="Sector id; `total` on the total row", title="Secteur"),
    *FIGURE_COLUMNS,
)
ACTION_COLUMNS = (
    Column("lever_id", description="The lever the impact is on", title="Levier"),
    Column("action_id", description="The COP action's id", title="Action"),
    Column("title", title="Intitulé"),
    Column("status", description="proposee, retenue, en_cours or realisee", title="Statut"),
    Column("territory_level", description="Where the action is: its level", title="Niveau"),
    Column("territory_code", description="INSEE code or SIREN", title="Territoire"),
    Column("departement", description="The département it lies in", title="Département"),
    Column("ktco2e", KT, Kind.decimal, "Its impact on the lever, as stored; empty: none", "Impact"),
    Column("physical", PHYSICAL, Kind.decimal, "The same in the lever's unit, as stored", "Impact (unité)"),
    Column("version", description="The panorama version it was converted at", title="Version"),
    Column("other_version", description="`true`: stored at another version", title="Autre version"),
    Column("reached_ktco2e", KT, Kind.decimal, "What it reaches so far on the lever", "Atteint"),
    Column("progress_reported_on", description="Its latest progress update's date", title="Suivi du"),
    Column("progress_percent_done", None, Kind.decimal, "Its latest percent done", "Avancement (%)"),
)

BUDGET_COLUMNS = (
    Column("action_id", description="The COP action's id", title="Action"),
    Column("title", title="Intitulé"),
    Column("lever_id", description="The action's main lever; empty when it has none", title="Levier"),
    Column("year", None, Kind.integer, "The year of the line", "Année"),
    Column("financer", description="Who pays, as entered", title="Financeur"),
    Column("amount_eur", "EUR", Kind.decimal, "The amount, to the cent", "Montant"),
    Column("status", description="`planifie` (planned) or `acquis` (secured)", title="Statut"),
    Column(
        "aid_id",
        None,
        Kind.integer,
        "The aid of the catalogue (Aides-territoires id) the line is financed by; empty: none",
        "Aide",
    ),
)


def _figures(figures: Figures) -> dict[str, Value]:
    return {
        "objective_ktco2e": figures.objective_ktco2e,
        "realisee_ktco2e": figures.realisee_ktco2e,
        "en_cours_ktco2e": figures.en_cours_ktco2e,
        "retenue_ktco2e": figures.retenue_ktco2e,
        "committed_ktco2e": figures.committed_ktco2e,
        "proposee_ktco2e": figures.proposee_ktco2e,
        "gap_ktco2e": figures.gap_ktco2e,
        "covered_share": figures.covered_share,
        "expected_ktco2e": figures.expected_ktco2e,
        "reached_ktco2e": figures.reached_ktco2e,
        "on_track": _bool(figures.on_track),
    }


def metadata(
    view: RoadmapRead,
    what: str,
    *,
    generated_at: dt.datetime | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> Metadata:
    where = territory(view)
    return Metadata(
        title=f"Feuille de route — {where} — {what}",
        source=SOURCE.format(version=view.version, territory=where),
        version=view.version,
        licence=LICENCE.format(territory=where, version=view.version),
        extra=[
            ("region", view.region),
            *([("departement", view.departement)] if view.departement else []),
            ("scope", view.scope.value),
            ("year", str(view.year)),
            *extra,
        ],
        notes=[EXACT_NOTE, view.path],
        generated_at=generated_at or dt.datetime.now(dt.UTC),
    )


def levers_table(view: RoadmapRead, meta: Metadata) -> Table:
    return Table.from_records(
        meta,
        LEVER_COLUMNS,
        (
            {
                "lever_id": lever.lever_id,
                "lever_name": lever.name,
                "sector": lever.sector,
                "unit": lever.unit,
                "objective_source": lever.objective_source.value,
                "official_objective_ktco2e": lever.official_objective_ktco2e,
                **_figures(lever),
                "ratio": lever.ratio,
                "gap_physical": lever.gap_physical,
                "action_count": len(lever.actions),
                "other_version_impacts": lever.other_version_impacts,
            }
            for lever in view.levers
        ),
    )


def sectors_table(view: RoadmapRead, meta: Metadata) -> Table:
    records: list[dict[str, Value]] = [
        {"row_type": "sector", "sector": sector.sector, **_figures(sector)} for sector in view.sectors
    ]
    records.append({"row_type": "total", "sector": "total", **_figures(view.total)})
    return Table.from_records(meta, SECTOR_COLUMNS, records)


def actions_table(view: RoadmapRead, meta: Metadata) -> Table:
    return Table.from_records(
        meta,
        ACTION_COLUMNS,
        (
            {
                "lever_id": lever.lever_id,
                "action_id": str(item.action_id),
                "title": item.title,
                "status": item.status.value,
                "territory_level": item.territory_level.value,
                "territory_code": item.territory_code,
                "departement": item.departement,
                "ktco2e": item.ktco2e,
                "physical": item.physical,
                "version": item.version,
                "other_version": _bool(item.other_version),
                "reached_ktco2e": item.reached_ktco2e,
                "progress_reported_on": item.latest_progress.reported_on.isoformat()
                if item.latest_progress
                else None,
                "progress_percent_done": item.latest_progress.percent_done if item.latest_progress else None,
            }
            for lever in view.levers
            for item in lever.actions
        ),
    )


def budget_lines_table(actions: Sequence[BudgetAction], meta: Metadata) -> Table:
    """One row per action and budget line, the actions in the roadmap's order and their lines as entered."""
    return Table.from_records(
        meta,
        BUDGET_COLUMNS,
        (
            {
                "action_id": str(action.id),
                "title": action.title,
                "lever_id": action.lever_id,
                "year": int(line["year"]),
                "financer": line["financer"],
                "amount_eur": Decimal(line["amount_eur"]),
                "status": line["status"],
                "aid_id": line.get("aid_id"),
            }
            for action in actions
            for line in action.budget_lines
        ),
    )


RESOURCES = {
    "levers": ("Leviers", levers_table),
    "sectors": ("Secteurs et total", sectors_table),
    "actions": ("Actions par levier", actions_table),
}
BUDGET_LINES = "budget_lines"  # a publication's table only: the roadmap read has no budget lines
TITLES = {name: what for name, (what, _) in RESOURCES.items()} | {BUDGET_LINES: "Lignes budgétaires"}
RESOURCE_DESCRIPTIONS = {
    "levers": "Per lever of the panorama: the objective, the impact of the actions by status, the gap, the "
    "share covered, the on-track figures (one row per lever).",
    "sectors": "Per sector, the sums of its levers; a last `total` row sums every lever.",
    "actions": "One row per action and lever it is counted on (impacts on levers the panorama version does "
    "not have are in the JSON snapshot's `unplaced` only): the levers' figures are the sums of these rows "
    "by status.",
    BUDGET_LINES: "One row per action and budget line (year, financer, amount in euros, planned or secured) "
    "of the actions the roadmap counts (published, not abandoned), those without a lever included: the "
    "financing view's lines as the public read them.",
}
PRIMARY_KEYS = {
    "levers": ["lever_id"],
    "sectors": ["sector"],
    "actions": ["lever_id", "action_id"],
    BUDGET_LINES: ["action_id", "year", "financer"],  # one line per financer and year (validated on write)
}
BOOLEANS = {"levers": ["on_track"], "sectors": ["on_track"], "actions": ["other_version"]}
DATES = {"actions": ["progress_reported_on"]}


def tables(
    view: RoadmapRead,
    budget: Sequence[BudgetAction],
    *,
    generated_at: dt.datetime,
    extra: Sequence[tuple[str, str]],
) -> dict[str, Table]:
    """A publication's tables: the roadmap's, and the budget lines of `budget`'s actions."""
    built = {
        name: build(view, metadata(view, what, generated_at=generated_at, extra=extra))
        for name, (what, build) in RESOURCES.items()
    }
    meta = metadata(view, TITLES[BUDGET_LINES], generated_at=generated_at, extra=extra)
    return built | {BUDGET_LINES: budget_lines_table(budget, meta)}


def package(
    view: RoadmapRead,
    built: dict[str, Table],
    *,
    name: str,
    number: int,
    title: str,
    description: str,
    published_at: dt.datetime,
    snapshot_url: str,
) -> DataPackage:
    where = territory(view)
    resources = [
        PackageResource(
            name=resource,
            title=f"{TITLES[resource]} — {where}",
            description=RESOURCE_DESCRIPTIONS[resource],
            table=table,
            primary_key=PRIMARY_KEYS[resource],
            types=dict.fromkeys(BOOLEANS.get(resource, []), "boolean")
            | dict.fromkeys(DATES.get(resource, []), "date"),
        )
        for resource, table in built.items()
    ]
    return build_package(
        name=name,
        title=title,
        description=description,
        version=str(number),
        created=published_at,
        resources=resources,
        sources=[
            {"title": SGPE_SOURCE.format(version=view.version)},
            {"title": ACTIONS_SOURCE.format(territory=where)},
            {"title": "Instantané JSON de la feuille de route (snapshot)", "path": snapshot_url},
        ],
        licenses=[ETALAB_2],
        keywords=["COP", "planification écologique", "feuille de route", where],
    )


def live_filename(view: RoadmapRead, table: RoadmapTable) -> str:
    where = f"departement-{view.departement}" if view.departement else f"region-{view.region}"
    return f"planeco-feuille-de-route-{where}-{view.version}-{table.value}"


def live_table(view: RoadmapRead, table: RoadmapTable) -> Table:
    """The live roadmap's table, for its export (generated now)."""
    what, build = RESOURCES[table.value]
    return build(view, metadata(view, what))
