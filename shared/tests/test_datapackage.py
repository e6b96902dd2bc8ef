"""Frictionless data packages (planeco_shared.datapackage): the descriptor, its Table Schemas, the plain
CSV files (tabular.to_data_csv) and a reproducible zip, validated by the `frictionless` library."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from frictionless import Package, validate

from planeco_shared.datapackage import DESCRIPTOR, PackageResource, build_package, table_schema
from planeco_shared.tabular import Column, Kind, Metadata, Table, to_data_csv

CREATED = dt.datetime(2026, 12, 2, 10, 15, 30, 123456, tzinfo=dt.UTC)
METADATA = Metadata(
    title="Démo", source="test", version="1", licence="Licence Ouverte 2.0", generated_at=CREATED
)
COLUMNS = [
    Column("code", description="Code INSEE", title="Code"),
    Column("label", title="Libellé"),
    Column("objective_ktco2e", "ktCO2e", Kind.decimal, "Objectif 2030", title="Objectif"),
    Column("count", kind=Kind.integer, title="Nombre"),
    Column("on_track", title="En bonne voie"),
]
ROWS = [
    ["24", '=HYPERLINK("x")', Decimal("966.140800"), 3, "true"],
    ["2A", "Corse, « sud »", Decimal("-0.5"), 0, "false"],
    ["976", None, None, None, "false"],
]


def resource() -> PackageResource:
    return PackageResource(
        name="demo",
        title="Démonstration",
        description="Des lignes",
        table=Table(METADATA, COLUMNS, ROWS),
        primary_key=["code"],
        types={"on_track": "boolean"},
    )


def test_the_data_csv_is_plain_with_exact_decimals_and_guarded_text() -> None:
    content = to_data_csv(Table(METADATA, COLUMNS, ROWS))
    assert not content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8"))))
    assert rows[0] == ["code", "label", "objective_ktco2e", "count", "on_track"]
    assert rows[1] == ["24", '\'=HYPERLINK("x")', "966.1408", "3", "true"]
    assert rows[2] == ["2A", "Corse, « sud »", "-0.5", "0", "false"]
    assert rows[3] == ["976", "", "", "", "false"]
    assert content.count(b"\r\n") == 4


def test_the_schema_describes_each_column_with_its_type_title_and_key() -> None:
    schema = table_schema(resource())
    assert schema["primaryKey"] == ["code"]
    fields = {item["name"]: item for item in schema["fields"]}
    assert [item["name"] for item in schema["fields"]] == [column.name for column in COLUMNS]
    assert fields["code"] == {
        "name": "code",
        "title": "Code",
        "description": "Code INSEE",
        "type": "string",
        "constraints": {"required": True},
    }
    assert fields["objective_ktco2e"]["type"] == "number"
    assert fields["objective_ktco2e"]["description"] == "Objectif 2030 (unité : ktCO2e)"
    assert (fields["count"]["type"], fields["on_track"]["type"]) == ("integer", "boolean")


def test_a_package_validates_with_frictionless_and_its_zip_is_reproducible(tmp_path: Path) -> None:
    package = build_package(
        name="planeco-demo",
        title="Démo",
        description="Un paquet de démonstration",
        version="1",
        created=CREATED,
        resources=[resource()],
        sources=[{"title": "Panorama SGPE 2024-07-24"}],
    )
    descriptor = json.loads(package.descriptor_bytes)
    assert descriptor["created"] == "2026-12-02T10:15:30Z"
    assert descriptor["licenses"][0]["name"] == "etalab-2.0"
    (item,) = descriptor["resources"]
    content = package.files["files/demo.csv"]
    assert item["hash"] == "sha256:" + hashlib.sha256(content).hexdigest()
    assert item["bytes"] == len(content)

    archive = package.zip()
    assert archive == package.zip()  # the same bytes each time
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        assert opened.namelist() == [DESCRIPTOR, "files/demo.csv"]
        assert opened.read(DESCRIPTOR) == package.descriptor_bytes
        opened.extractall(tmp_path)

    report = validate(str(tmp_path / DESCRIPTOR))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    rows = Package(str(tmp_path / DESCRIPTOR)).get_resource("demo").read_rows()
    assert [row["objective_ktco2e"] for row in rows] == [Decimal("966.1408"), Decimal("-0.5"), None]
    assert [row["on_track"] for row in rows] == [True, False, False]


def test_a_bad_name_or_an_unknown_key_is_refused() -> None:
    with pytest.raises(ValueError, match="resource name"):
        PackageResource("Demo", "t", "d", Table(METADATA, COLUMNS, ROWS), primary_key=["code"])
    with pytest.raises(ValueError, match="no column named nope"):
        PackageResource("demo", "t", "d", Table(METADATA, COLUMNS, ROWS), primary_key=["nope"])
