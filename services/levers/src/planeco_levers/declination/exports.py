"""The declination reads as CSV and XLSX (`?format=csv|xlsx`): a row per lever × territory, exactly the JSON.

For each lever, a `region` row (the région's figures at `precision`: what its children add up to, with the
exact figures beside them), then one `child` row per département, EPCI or CRTE; after the levers, one
`child_total` row per child (over the levers returned) and a `region_total` row. Every row says what kind of
territory it is and what kind of code identifies it (INSEE, SIREN, CRTE id), so a département code `45` is
never read as something else.
"""

from __future__ import annotations

from planeco_levers.declination.models import DeclinationLevel
from planeco_levers.declination.schemas import DeclinationRead, ObjectiveBasis, Precision
from planeco_levers.panoramas.exports import (
    KT,
    LEVER_COLUMNS,
    PHYSICAL,
    SGPE_LICENCE,
    SGPE_SOURCE,
    lever_cells,
)
from planeco_shared.tabular import Column, Kind, Metadata, Table, Value

INSEE_LICENCE = "INSEE populations and COG 2026: Licence Ouverte / Open Licence 2.0 (Etalab)."
# The path segment of each read (also in the file name) and how a title names the children.
LEVEL_PATHS = {
    DeclinationLevel.departement: ("departements", "départements"),
    DeclinationLevel.epci: ("epcis", "EPCI"),
    DeclinationLevel.crte: ("crte", "CRTE"),
}
TERRITORY_TYPES = {
    DeclinationLevel.departement: ("département", "INSEE"),
    DeclinationLevel.epci: ("EPCI", "SIREN"),
    DeclinationLevel.crte: ("CRTE", "CRTE id"),
}
REGION_TYPE = ("région", "INSEE")
MAX_NAMED_LEVERS = 3

COLUMNS = (
    Column(
        "row_type",
        description="`region`: the région's figures for the lever at `precision` (what its children add up "
        "to); `child`: a child's part; `child_total`: a child over every lever of the file; `region_total`: "
        "the région over every lever. Keep `child` rows to sum children.",
    ),
    Column("territory_type", description="`région`, `département`, `EPCI` or `CRTE`"),
    Column(
        "code_type",
        description="What territory_code is: `INSEE` (code of a région or a département), `SIREN` (EPCI), "
        "`CRTE id` (the identifier the CRTE was uploaded with)",
    ),
    Column("territory_code", description="The territory's official code, as text (`01`, `2A`, `200000172`)"),
    Column("territory_name"),
    *LEVER_COLUMNS,
    Column(
        "basis",
        description="`official`: the panorama's objective was declined; `adjusted`: the région's own",
    ),
    Column("anchored_version", description="For an adjusted objective: the version converting it"),
    Column("key_kind", description="`default` (population) or `custom` (uploaded by the région)"),
    Column("key_name", description="What the weights are (`population` by default)"),
    Column("key_source", description="Where the weights come from"),
    Column("weight", "key: see column key_name", Kind.decimal, "The child's value in the key"),
    Column(
        "share",
        "fraction of 1",
        Kind.decimal,
        "weight / Σ weights at 10⁻⁶, apportioned so that a lever's shares add up to exactly 1",
    ),
    Column(
        "objective_ktco2e",
        KT,
        Kind.decimal,
        "ktCO2e avoided in 2030 versus 2019: the child's part (a multiple of `precision`); on `region` rows "
        "the région's objective rounded to `precision`, which the children add up to",
    ),
    Column(
        "objective_ktco2e_exact",
        KT,
        Kind.decimal,
        "`region` and `region_total` rows: the exact objective before rounding",
    ),
    Column("unit", description="The lever's physical unit; empty when it has none"),
    Column(
        "physical_method",
        description="`apportioned`: physical values declined; `not_additive`: an intensity (per inhabitant, "
        "per car, per 100 km, per MWh), not declined; `none`: no physical unit",
    ),
    Column(
        "start_2019",
        PHYSICAL,
        Kind.decimal,
        "The 2019 physical value: the child's part, or the région's at `precision` (empty when not declined)",
    ),
    Column(
        "physical_2030",
        PHYSICAL,
        Kind.decimal,
        "The 2030 physical value: the child's part, or the région's at `precision` (empty when not declined)",
    ),
    Column("start_2019_exact", PHYSICAL, Kind.decimal, "`region` rows: the exact 2019 value"),
    Column("physical_2030_exact", PHYSICAL, Kind.decimal, "`region` rows: the exact 2030 value"),
)


def filename(view: DeclinationRead, precision: Precision, lever_ids: list[str] | None) -> str:
    """planeco-declination-2024-07-24-region-24-departements, then the options that are not the defaults."""
    name = f"planeco-declination-{view.version}-region-{view.region}-{LEVEL_PATHS[view.level][0]}"
    if view.basis is not ObjectiveBasis.official:
        name += f"-{view.basis.value}"
    if precision is not Precision.tenth:
        name += f"-precision-{precision.value}"
    if lever_ids:
        chosen = sorted(set(lever_ids))
        name += "-" + "-".join(chosen) if len(chosen) <= MAX_NAMED_LEVERS else f"-{len(chosen)}-levers"
    return name


def table(view: DeclinationRead) -> Table:
    region, region_name = view.region, view.region_name
    child_type, child_code_type = TERRITORY_TYPES[view.level]
    region_cells: dict[str, Value] = {
        "territory_type": REGION_TYPE[0],
        "code_type": REGION_TYPE[1],
        "territory_code": region,
        "territory_name": region_name,
    }
    records: list[dict[str, Value]] = []
    for lever in view.levers:
        figures = lever.region
        common: dict[str, Value] = {
            **lever_cells(lever),
            "basis": figures.basis.value,
            "anchored_version": figures.anchored_version,
            "key_kind": lever.key.kind.value,
            "key_name": lever.key.name,
            "key_source": lever.key.source,
            "unit": lever.unit,
            "physical_method": lever.physical_method.value,
        }
        records.append(
            {
                "row_type": "region",
                **region_cells,
                **common,
                "objective_ktco2e": figures.objective_ktco2e_rounded,
                "objective_ktco2e_exact": figures.objective_ktco2e,
                "start_2019": figures.start_2019_rounded,
                "physical_2030": figures.physical_2030_rounded,
                "start_2019_exact": figures.start_2019,
                "physical_2030_exact": figures.physical_2030,
            }
        )
        records += [
            {
                "row_type": "child",
                "territory_type": child_type,
                "code_type": child_code_type,
                "territory_code": child.code,
                "territory_name": child.name,
                **common,
                "weight": child.weight,
                "share": child.share,
                "objective_ktco2e": child.objective_ktco2e,
                "start_2019": child.start_2019,
                "physical_2030": child.physical_2030,
            }
            for child in lever.children
        ]
    records += [
        {
            "row_type": "child_total",
            "territory_type": child_type,
            "code_type": child_code_type,
            "territory_code": total.code,
            "territory_name": total.name,
            "objective_ktco2e": total.objective_ktco2e,
        }
        for total in view.totals
    ]
    records.append(
        {
            "row_type": "region_total",
            **region_cells,
            "objective_ktco2e": view.total_ktco2e_rounded,
            "objective_ktco2e_exact": view.total_ktco2e,
        }
    )
    sources = {lever.key.source for lever in view.levers if lever.key.source}
    metadata = Metadata(
        title=f"SGPE panorama {view.version} declined to the {LEVEL_PATHS[view.level][1]} of région "
        f"{region} ({region_name}), precision {view.precision} ktCO2e, {view.basis.value} objectives",
        source=SGPE_SOURCE.format(version=view.version)
        + "; declination keys: "
        + (" / ".join(sorted(sources)) or "none"),
        version=view.version,
        licence=f"{SGPE_LICENCE} {INSEE_LICENCE} Custom keys: as their source says.",
        extra=[
            ("region", f"{region} {region_name}"),
            ("level", view.level.value),
            ("basis", view.basis.value),
            ("precision", f"{view.precision} (ktCO2e and physical units)"),
            ("rounding", view.rounding),
        ],
        notes=[
            "The panorama's figures are exact (objective_ktco2e_exact, *_exact); the declined ones are "
            "multiples of `precision`, apportioned by largest remainder (see rounding).",
            "For each lever, the `child` rows add up exactly to the `region` row (objective, 2019 and 2030 "
            "physical values); child_total rows sum a child's declined objectives over the file's levers.",
            "Physical values are declined only when the unit adds up across territories (physical_method "
            "`apportioned`); intensities are not (`not_additive`).",
        ],
    )
    return Table.from_records(metadata, COLUMNS, records)
