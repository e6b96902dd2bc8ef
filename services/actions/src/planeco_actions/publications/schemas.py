"""A published roadmap's shapes: what a coordinator sends to publish, what anyone reads of it."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from planeco_actions.roadmaps.schemas import VersionQuery, YearQuery
from planeco_shared.owners import Owner
from planeco_shared.text import FreeText

PublicationTitle = Annotated[
    FreeText,
    StringConstraints(strip_whitespace=True, max_length=300),
    Field(examples=["Feuille de route 2030 adoptée en COP du 12 décembre 2026"]),
]
Notes = Annotated[
    FreeText,
    StringConstraints(max_length=10_000),
    Field(examples=["Version présentée en séance plénière."]),
]


class PublicationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: PublicationTitle | None = Field(
        default=None, description="Omitted or empty: « Feuille de route — <territory> — publication <n> »"
    )
    notes: Notes = Field(default="", description="Empty when omitted")
    version: VersionQuery | None = Field(
        default=None, description="The panorama version of the objectives; the latest when omitted"
    )
    year: YearQuery | None = None


class PublicationTable(StrEnum):
    """A table of a publication (one CSV or XLSX file each, and a resource of its data package): the
    roadmap's (`RoadmapTable`) and its actions' budget lines."""

    levers = "levers"
    sectors = "sectors"
    actions = "actions"
    budget_lines = "budget_lines"


class DataFile(StrEnum):
    """A CSV file of a publication's data package (its `resources[].path`, under `files/`)."""

    levers = "levers.csv"
    sectors = "sectors.csv"
    actions = "actions.csv"
    budget_lines = "budget_lines.csv"


class PublicationFileRead(BaseModel):
    name: str = Field(description="The file's name", examples=["levers.csv"])
    path: str = Field(
        description="Where to get it (under /api/v1)",
        examples=["/api/v1/roadmaps/regions/24/publications/1/export?format=csv&resource=levers"],
    )
    media_type: str = Field(examples=["text/csv; charset=utf-8; header=present"])
    bytes: int = Field(description="Its size", examples=[4096])
    etag: str = Field(description="Its strong ETag", examples=['"5f0c4e1d9a7b3c2e8f6a1b0d4c3e2f1a"'])


class PublicationRead(BaseModel):
    owner: Owner = Field(description="The territory whose roadmap it is")
    region: str = Field(
        description="The région (for a département's roadmap: the one it lies in)", examples=["24"]
    )
    departement: str | None = Field(description="A département's roadmap: its code; null for the région's")
    number: int = Field(description="1, 2, 3… per territory, in the order of publication", examples=[1])
    title: str = Field(examples=["Feuille de route — région 24 — publication 1"])
    notes: str
    version: str = Field(description="The panorama version of the snapshot", examples=["2024-07-24"])
    year: int = Field(description="The year of its on-track figures", examples=[2026])
    published_at: dt.datetime
    etag: str = Field(
        description="The snapshot's strong ETag (the JSON roadmap as it was served)",
        examples=['"5f0c4e1d9a7b3c2e8f6a1b0d4c3e2f1a"'],
    )
    licence: str = Field(examples=["Licence Ouverte / Open Licence version 2.0 (etalab-2.0)"])
    sources: list[str] = Field(description="Where the figures come from")
    files: list[PublicationFileRead] = Field(
        description="The snapshot, the CSV and XLSX exports, the data package and its zip"
    )
