"""The panorama reads as CSV and XLSX (`?format=csv|xlsx`): the JSON view's figures, exactly, as a table.

Each table has a `row_type` column so a program can keep the lever rows and drop the totals; columns are the
same whatever the data (a région without adjustments has empty `adjusted_*` cells), so an integration can
rely on them. Units are in the headers: `[ktCO2e]`, or `[unit: see column unit]` where levers with different
physical units share the column. Files are written by `planeco_shared.tabular`.
"""

from __future__ import annotations

from typing import Protocol

from planeco_levers.panoramas.schemas import ComparisonRead, NationalPanoramaRead, RegionPanoramaRead
from planeco_shared.tabular import Column, Kind, Metadata, Table, Value

KT = "ktCO2e"
PHYSICAL = "unit: see column unit"
SGPE_SOURCE = (
    "SGPE, simulateur territorial de la planification écologique (MTES-MCT/planification-territoires), "
    "panorama of {version}"
)
SGPE_LICENCE = (
    "SGPE data: MIT licence (the upstream repository's). Attribution: « Source : SGPE, simulateur "
    "territorial de la planification écologique (MTES-MCT/planification-territoires, licence MIT) ». "
    "Upstream caveat: « données de travail qui n'engagent en rien l'État » (indicative working data)."
)
EXACT_NOTE = (
    "Figures are exact decimals, as the JSON view gives them (the SGPE file's own digits; sums are exact "
    "sums); nothing is rounded unless a column says so."
)

FILE_TEXT = """
**Files.** `?format=csv` or `?format=xlsx` returns the same figures as a file to download
(`Content-Disposition: attachment`, named after its content: `{name}`); `?format=json` (the default) the
JSON document. The CSV is UTF-8 with a byte-order mark, `;`-separated, with a decimal comma
(`?decimal=point` for a decimal point); it starts with metadata lines beginning with `#` (source, version,
licence, generated_at, notes), then the header. The XLSX has a `data` sheet with numeric cells and a
`metadata` sheet. Units are in the headers (`objective_ktco2e [ktCO2e]`; `[unit: see column unit]` where
levers of different units share a column) and a `row_type` column tells totals from lever rows. Errors stay
JSON problems. A file has its own weak ETag (304 on `If-None-Match`), not the JSON view's.
"""


def file_text(name: str) -> str:
    return FILE_TEXT.replace("{name}", name)


def row_type(values: str) -> Column:
    return Column("row_type", description=f"What the row is: {values}. Keep `lever` rows to sum levers.")


LEVER_COLUMNS = (
    Column("lever_id", description="The SGPE lever id"),
    Column("lever_name", description="The lever's name (in the région's row of the panorama)"),
    Column("sector", description="Sector id"),
    Column("sector_label"),
)
GROUP_COLUMNS = (Column("group", description="Thématique id"), Column("group_label"))


class Lever(Protocol):
    """What every view says of a lever."""

    @property
    def lever_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def sector(self) -> str: ...
    @property
    def sector_label(self) -> str: ...


class GroupedLever(Lever, Protocol):
    @property
    def group(self) -> str: ...
    @property
    def group_label(self) -> str: ...


def lever_cells(lever: Lever) -> dict[str, Value]:
    """The LEVER_COLUMNS of a lever's row."""
    return {
        "lever_id": lever.lever_id,
        "lever_name": lever.name,
        "sector": lever.sector,
        "sector_label": lever.sector_label,
    }


def grouped_lever_cells(lever: GroupedLever) -> dict[str, Value]:
    """The LEVER_COLUMNS and GROUP_COLUMNS of a lever's row."""
    return lever_cells(lever) | {"group": lever.group, "group_label": lever.group_label}


# région


def region_filename(view: RegionPanoramaRead) -> str:
    return f"planeco-panorama-{view.version}-region-{view.region}"


REGION_COLUMNS = (
    row_type("`lever`, `sector_total` (the levers of a sector), `region_total` (every lever)"),
    Column("region_code", description="INSEE code of the région"),
    *LEVER_COLUMNS,
    *GROUP_COLUMNS,
    Column("lever_count", kind=Kind.integer, description="Total rows: how many levers the row sums"),
    Column("objective_ktco2e", KT, Kind.decimal, "ktCO2e avoided in 2030 compared with 2019 (objCO2)"),
    Column("unit", description="The lever's physical unit; empty when it has none"),
    Column("start_2019", PHYSICAL, Kind.decimal, "The physical value in 2019 (startPoint2019)"),
    Column("ratio", "unit per ktCO2e: see column unit", Kind.decimal, "ratioCO2toPhys"),
    Column("physical_2030", PHYSICAL, Kind.decimal, "max(0, start_2019 + objective_ktco2e × ratio), exact"),
    Column(
        "physical_2030_rounded",
        PHYSICAL,
        Kind.decimal,
        "physical_2030 as the simulator displays it: one decimal, halves up",
    ),
    Column("adjusted_lever_count", kind=Kind.integer, description="Total rows: levers the région adjusted"),
    Column("adjusted_entered_unit", description="The unit the région stated its objective in"),
    Column(
        "adjusted_objective_ktco2e",
        KT,
        Kind.decimal,
        "Lever rows: the région's own objective (empty: none). Total rows: the adjusted view, each lever's "
        "adjusted objective where the région stated one, its official objective otherwise",
    ),
    Column("adjusted_physical_2030", PHYSICAL, Kind.decimal, "The région's own objective, physical unit"),
    Column("adjusted_done_ktco2e", KT, Kind.decimal, "Réalisé (empty: not stated)"),
    Column("adjusted_planned_ktco2e", KT, Kind.decimal, "Planifié (empty: not stated)"),
    Column("adjusted_remaining_ktco2e", KT, Kind.decimal, "objective − done − planned"),
    Column(
        "adjusted_anchored_version",
        description="The panorama version whose ratio and 2019 value convert the adjustment",
    ),
    Column("adjusted_comment", description="Why the région chose this figure"),
)


def region_table(view: RegionPanoramaRead) -> Table:
    code = view.region
    records: list[dict[str, Value]] = []
    for lever in view.levers:
        record: dict[str, Value] = {
            "row_type": "lever",
            "region_code": code,
            **grouped_lever_cells(lever),
            "objective_ktco2e": lever.objective_ktco2e,
            "unit": lever.unit,
            "start_2019": lever.start_2019,
            "ratio": lever.ratio,
            "physical_2030": lever.physical_2030,
            "physical_2030_rounded": lever.physical_2030_rounded,
        }
        if (adjusted := lever.adjusted) is not None:
            record |= {
                "adjusted_entered_unit": adjusted.entered_unit.value,
                "adjusted_objective_ktco2e": adjusted.objective_ktco2e,
                "adjusted_physical_2030": adjusted.physical_2030,
                "adjusted_done_ktco2e": adjusted.done_ktco2e,
                "adjusted_planned_ktco2e": adjusted.planned_ktco2e,
                "adjusted_remaining_ktco2e": adjusted.remaining_ktco2e,
                "adjusted_anchored_version": adjusted.anchored_version,
                "adjusted_comment": adjusted.comment,
            }
        records.append(record)
    records += [
        {
            "row_type": "sector_total",
            "region_code": code,
            "sector": sector.sector,
            "sector_label": sector.label,
            "lever_count": sector.lever_count,
            "objective_ktco2e": sector.objective_ktco2e,
            "adjusted_lever_count": sector.adjusted_lever_count,
            "adjusted_objective_ktco2e": sector.adjusted_objective_ktco2e,
        }
        for sector in view.sectors
    ]
    records.append(
        {
            "row_type": "region_total",
            "region_code": code,
            "lever_count": view.lever_count,
            "objective_ktco2e": view.total_ktco2e,
            "adjusted_lever_count": view.adjusted_lever_count,
            "adjusted_objective_ktco2e": view.adjusted_total_ktco2e,
        }
    )
    metadata = Metadata(
        title=f"SGPE panorama {view.version}, région {code} ({view.region_name})",
        source=SGPE_SOURCE.format(version=view.version),
        version=view.version,
        licence=SGPE_LICENCE,
        extra=[("region", f"{code} {view.region_name}"), ("region_in_source", view.source_region_name)],
        notes=[
            EXACT_NOTE,
            "adjusted_*: the région's own objective (regional adjustment) beside the official one; on total "
            "rows adjusted_objective_ktco2e sums each lever's adjusted objective where the région stated one "
            "and its official objective otherwise.",
        ],
    )
    return Table.from_records(metadata, REGION_COLUMNS, records)


# national


def national_filename(view: NationalPanoramaRead) -> str:
    return f"planeco-panorama-{view.version}-national"


NATIONAL_COLUMNS = (
    row_type("`lever`, `sector_total` (the levers of a sector), `national_total` (every lever)"),
    *LEVER_COLUMNS,
    *GROUP_COLUMNS,
    Column("region_count", kind=Kind.integer, description="How many régions have the lever (or any lever)"),
    Column("regions", description="INSEE codes of the régions that have the lever, space-separated"),
    Column("lever_count", kind=Kind.integer, description="Total rows: how many levers the row sums"),
    Column("objective_ktco2e", KT, Kind.decimal, "Exact sum over the régions of ktCO2e avoided in 2030"),
)


def national_table(view: NationalPanoramaRead) -> Table:
    records: list[dict[str, Value]] = [
        {
            "row_type": "lever",
            **grouped_lever_cells(lever),
            "region_count": lever.region_count,
            "regions": " ".join(lever.regions),
            "objective_ktco2e": lever.objective_ktco2e,
        }
        for lever in view.levers
    ]
    records += [
        {
            "row_type": "sector_total",
            "sector": sector.sector,
            "sector_label": sector.label,
            "lever_count": sector.lever_count,
            "objective_ktco2e": sector.objective_ktco2e,
        }
        for sector in view.sectors
    ]
    records.append(
        {
            "row_type": "national_total",
            "region_count": view.region_count,
            "lever_count": view.lever_count,
            "objective_ktco2e": view.total_ktco2e,
        }
    )
    metadata = Metadata(
        title=f"SGPE panorama {view.version}, national sums",
        source=SGPE_SOURCE.format(version=view.version),
        version=view.version,
        licence=SGPE_LICENCE,
        notes=[
            EXACT_NOTE,
            "A lever's national objective is the exact sum of its régions' objectives; a sector total sums "
            "the sector's lever rows of every région.",
        ],
    )
    return Table.from_records(metadata, NATIONAL_COLUMNS, records)


# comparison


def comparison_filename(view: ComparisonRead) -> str:
    scope = f"region-{view.region}" if view.region is not None else "national"
    return f"planeco-comparison-{view.from_version}-to-{view.version}-{scope}"


COMPARISON_COLUMNS = (
    row_type("`lever`, `total` (every lever)"),
    *LEVER_COLUMNS,
    Column(
        "status",
        description="`added` (only in the later version), `removed` (only in the earlier one), `changed`, "
        "`unchanged`",
    ),
    Column("from_ktco2e", KT, Kind.decimal, "The objective in the earlier version (`from_version`)"),
    Column("to_ktco2e", KT, Kind.decimal, "The objective in the later version (`version`)"),
    Column("difference_ktco2e", KT, Kind.decimal, "to − from, exact; a missing side counts as 0"),
)


def comparison_table(view: ComparisonRead) -> Table:
    records: list[dict[str, Value]] = [
        {
            "row_type": "lever",
            **lever_cells(d),
            "status": d.status.value,
            "from_ktco2e": d.from_ktco2e,
            "to_ktco2e": d.to_ktco2e,
            "difference_ktco2e": d.difference_ktco2e,
        }
        for d in view.levers
    ]
    records.append(
        {
            "row_type": "total",
            "from_ktco2e": view.from_total_ktco2e,
            "to_ktco2e": view.to_total_ktco2e,
            "difference_ktco2e": view.difference_ktco2e,
        }
    )
    region, region_name = view.region, view.region_name
    extra = [("from_version", view.from_version), ("to_version", view.version)]
    if region is not None:
        extra.append(("region", f"{region} {region_name}"))
    extra += [
        ("added", " ".join(view.added) or "none"),
        ("removed", " ".join(view.removed) or "none"),
        ("changed_count", str(view.changed_count)),
    ]
    scope = f"région {region} ({region_name})" if region is not None else "national sums"
    metadata = Metadata(
        title=f"SGPE panorama {view.from_version} → {view.version}, {scope}",
        source=SGPE_SOURCE.format(version=f"{view.from_version} and of {view.version}"),
        version=f"{view.from_version} → {view.version}",
        licence=SGPE_LICENCE,
        extra=extra,
        notes=[EXACT_NOTE],
    )
    return Table.from_records(metadata, COMPARISON_COLUMNS, records)
