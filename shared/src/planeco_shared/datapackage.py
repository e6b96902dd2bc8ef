"""Frictionless data packages (https://specs.frictionlessdata.io/): `datapackage.json` with a Table Schema
per CSV file, and the zip that holds them, ready for an open-data portal (data.gouv.fr reads them as they
are; its schemas, schema.data.gouv.fr, are Table Schemas).

A `PackageResource` is a `planeco_shared.tabular.Table` with a name, a title, a description and a primary
key. Its file is `to_data_csv` (UTF-8, `,`, decimal point, header of column names, no metadata lines: the
descriptor holds them), its schema is derived from the columns: the name, the French `title`, the
description (with the unit), the type (`string`, `number`, `integer`; `types` overrides one, e.g. a
`boolean` written `true`/`false` or a `date` in ISO 8601), `required` for the primary key's fields. The
descriptor states the licence(s), the sources, each file's size and SHA-256, and is written as UTF-8 JSON
(2-space indent, keys in a fixed order). The zip is byte-reproducible: entries in a fixed order, dated
`created`, so the same package gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from planeco_shared.tabular import Kind, Table, to_data_csv

DESCRIPTOR = "datapackage.json"
DATA_FOLDER = "files"
ETALAB_2 = {
    "name": "etalab-2.0",
    "path": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
    "title": "Licence Ouverte / Open Licence version 2.0",
}
_TYPES = {Kind.text: "string", Kind.decimal: "number", Kind.integer: "integer"}
_NAME = re.compile(r"^[a-z0-9._-]+$")


@dataclass(frozen=True, slots=True)
class PackageResource:
    name: str  # lowercase, digits, `.`, `_`, `-`: the file is `files/<name>.csv`
    title: str
    description: str
    table: Table
    primary_key: Sequence[str]
    types: Mapping[str, str] = field(default_factory=dict)  # column → Table Schema type, where not the Kind's

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"resource name {self.name!r}: lowercase letters, digits, '.', '_' and '-'")
        names = {column.name for column in self.table.columns}
        unknown = (set(self.primary_key) | set(self.types)) - names
        if unknown:
            raise ValueError(f"no column named {', '.join(sorted(unknown))}")

    @property
    def path(self) -> str:
        return f"{DATA_FOLDER}/{self.name}.csv"


@dataclass(frozen=True, slots=True)
class DataPackage:
    descriptor: dict[str, Any]
    descriptor_bytes: bytes
    files: dict[str, bytes]  # path in the package → CSV bytes

    def zip(self) -> bytes:
        return zip_package(self.descriptor_bytes, self.files, created=self.descriptor["created"])


def table_schema(resource: PackageResource) -> dict[str, Any]:
    """The resource's Table Schema (https://specs.frictionlessdata.io/table-schema/)."""
    key = set(resource.primary_key)
    fields: list[dict[str, Any]] = []
    for column in resource.table.columns:
        description = column.description
        if column.unit:
            description = (
                f"{description} (unité : {column.unit})" if description else f"Unité : {column.unit}"
            )
        item: dict[str, Any] = {
            "name": column.name,
            "title": column.title or column.name,
            "description": description,
            "type": resource.types.get(column.name, _TYPES[column.kind]),
        }
        if column.name in key:
            item["constraints"] = {"required": True}
        fields.append(item)
    schema: dict[str, Any] = {"fields": fields, "missingValues": [""]}
    if resource.primary_key:
        schema["primaryKey"] = list(resource.primary_key)
    return schema


def build_package(
    *,
    name: str,
    title: str,
    description: str,
    version: str,
    created: dt.datetime,
    resources: Sequence[PackageResource],
    sources: Sequence[Mapping[str, str]],
    licenses: Sequence[Mapping[str, str]] = (ETALAB_2,),
    keywords: Sequence[str] = (),
    contributors: Sequence[Mapping[str, str]] = (),
) -> DataPackage:
    """The descriptor and the CSV files of a tabular data package (`created` in UTC, to the second)."""
    if not _NAME.match(name):
        raise ValueError(f"package name {name!r}: lowercase letters, digits, '.', '_' and '-'")
    files: dict[str, bytes] = {}
    described: list[dict[str, Any]] = []
    for resource in resources:
        content = to_data_csv(resource.table)
        files[resource.path] = content
        described.append(
            {
                "name": resource.name,
                "path": resource.path,
                "profile": "tabular-data-resource",
                "title": resource.title,
                "description": resource.description,
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "bytes": len(content),
                "hash": "sha256:" + hashlib.sha256(content).hexdigest(),
                "dialect": {"delimiter": ",", "lineTerminator": "\r\n", "header": True},
                "schema": table_schema(resource),
            }
        )
    stamp = created.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    descriptor: dict[str, Any] = {
        "profile": "tabular-data-package",
        "name": name,
        "title": title,
        "description": description,
        "version": version,
        "created": stamp,
        "licenses": [dict(item) for item in licenses],
        "sources": [dict(item) for item in sources],
    }
    if contributors:
        descriptor["contributors"] = [dict(item) for item in contributors]
    if keywords:
        descriptor["keywords"] = list(keywords)
    descriptor["resources"] = described
    text = json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n"
    return DataPackage(descriptor, text.encode("utf-8"), files)


def zip_package(descriptor: bytes, files: Mapping[str, bytes], *, created: str) -> bytes:
    """`datapackage.json` then the files, deflated, each dated `created` (ISO 8601, UTC): reproducible."""
    moment = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
    date_time = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, content in [(DESCRIPTOR, descriptor), *files.items()]:
            info = zipfile.ZipInfo(path, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return out.getvalue()
