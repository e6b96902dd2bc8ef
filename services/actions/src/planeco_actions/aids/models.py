"""The aids catalogue, a local copy of Aides-territoires, and the staging table a sync fills before it
applies a completed scan in one transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from planeco_actions.db import Base
from planeco_shared.dataversion import UNVERSIONED
from planeco_shared.models import DIALECTS, PortableJSON, TimestampMixin, UTCDateTime


class AidColumns:
    """What a record says, as `planeco_actions.aids.parsing.parse_record` reads it (the same columns in
    `aids` and in the staging table)."""

    slug: Mapped[str] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(String(1000))  # absolute, on the Aides-territoires site
    name: Mapped[str] = mapped_column(String(500))
    name_initial: Mapped[str | None] = mapped_column(String(500))
    short_title: Mapped[str | None] = mapped_column(String(255))
    financers: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    instructors: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    programs: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    # "Thème / Catégorie" labels, kept whole (theme names contain " / " themselves).
    categories: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    targeted_audiences: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    # The audiences' slugs between bars ("|commune|epci|"): a LIKE filter on both databases.
    audience_slugs: Mapped[str] = mapped_column(String(300), default="")
    aid_types: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    mobilization_steps: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    destinations: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    description_html: Mapped[str | None] = mapped_column(Text)  # sanitised
    description_text: Mapped[str] = mapped_column(Text, default="")
    eligibility_html: Mapped[str | None] = mapped_column(Text)  # sanitised
    perimeter: Mapped[str | None] = mapped_column(String(255))  # the perimeter's name only
    perimeter_scale: Mapped[str | None] = mapped_column(String(64))
    origin_url: Mapped[str | None] = mapped_column(String(1000))
    application_url: Mapped[str | None] = mapped_column(String(1000))
    is_call_for_project: Mapped[bool] = mapped_column(Boolean, default=False)
    is_charged: Mapped[bool] = mapped_column(Boolean, default=False)
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    predeposit_date: Mapped[dt.date | None] = mapped_column(Date)
    submission_deadline: Mapped[dt.date | None] = mapped_column(Date)
    subvention_rate_lower_bound: Mapped[int | None] = mapped_column(Integer)
    subvention_rate_upper_bound: Mapped[int | None] = mapped_column(Integer)
    recurrence: Mapped[str | None] = mapped_column(String(100))
    european_aid: Mapped[str | None] = mapped_column(String(50))
    date_created: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # upstream's
    date_updated: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # upstream's
    # Name, texts, categories, financers, programs: lowercase, without accents (the `q` search).
    search_text: Mapped[str] = mapped_column(Text, default="")
    # SHA-256 of the record as received: a change upstream that left date_updated alone (or null).
    content_hash: Mapped[str] = mapped_column(String(64))
    raw: Mapped[dict[str, Any]] = mapped_column(PortableJSON)  # the record as received


# The columns a sync copies from the staging table into `aids`.
AID_COLUMNS = list(AidColumns.__annotations__)


class Aid(AidColumns, TimestampMixin, Base):
    """An aid of the Aides-territoires catalogue, as of the last completed sync."""

    __tablename__ = "aids"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # upstream's id
    # False once a completed scan no longer listed it (expired, unpublished or deleted upstream): kept.
    is_live: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    delisted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The levers it serves, by the lever mapping (`planeco_actions.aids.levers`), recomputed when the
    # mapping changes and after a sync: the ids between bars ("|augm_haies|co2_foret|", a LIKE filter on
    # both databases), and lever id → the ids of the rules that gave it.
    # Server defaults: a sync inserts new aids from the staging table (INSERT … SELECT), levers after.
    lever_keys: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    lever_rules: Mapped[dict[str, list[str]]] = mapped_column(
        PortableJSON, default=dict, server_default=text("'{}'")
    )

    @property
    def lever_ids(self) -> list[str]:
        return sorted(self.lever_rules or {})


# The `q` search on PostgreSQL: a GIN trigram index (pg_trgm) on the accent-folded text, which serves the
# search's `LIKE '%word%'` (words of three characters or more). SQLite has none: it scans, as before.
Index(
    "ix_aids_search_text_trgm",
    Aid.search_text,
    postgresql_using="gin",
    postgresql_ops={"search_text": "gin_trgm_ops"},
    info={DIALECTS: ("postgresql",)},
).ddl_if(dialect="postgresql")


class AidStaging(AidColumns, Base):
    """The records one sync run has read so far; applied to `aids` only once the scan completed, then
    deleted (a failed run's rows are deleted too, and any left by a killed process at the next run)."""

    __tablename__ = "aid_sync_staging"
    # A run's scratch space, read by no endpoint: filling it leaves the data version alone (a sync that
    # changes nothing changes no ETag).
    __table_args__ = {"info": {UNVERSIONED: True}}  # noqa: RUF012 (SQLAlchemy's declarative form)

    run_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    aid_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class AidPerimeter(Base):
    """What an aid record's perimeter (its name and scale, nothing else) was resolved to, through
    Aides-territoires' `/api/perimeters/` (its code) and the levers service's territories (where it lies):
    resolved once, then kept. `status` `unresolved`: no single perimeter of that name and scale, or one that
    is not a territory of ours (ad-hoc, basins), said in `message`; retried by no later sync."""

    __tablename__ = "aid_perimeters"
    __table_args__ = (UniqueConstraint("name", "scale"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))  # as the aid records say it
    scale: Mapped[str] = mapped_column(String(64))  # the records' `perimeter_scale` label
    status: Mapped[str] = mapped_column(String(16))  # resolved | unresolved
    # national (France, Europe), mainland, overseas, region, departement, epci, commune; null if unresolved
    level: Mapped[str | None] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(16))  # INSEE code or SIREN (upstream's `code`)
    upstream_id: Mapped[int | None] = mapped_column(Integer)  # the /api/perimeters/ id
    message: Mapped[str | None] = mapped_column(String(500))
    resolved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AidPerimeterTerritory(Base):
    """The territories a resolved perimeter is or lies in: a commune's own code, its EPCI, département and
    région; an EPCI's SIREN, its départements and régions; a département and its région; a région."""

    __tablename__ = "aid_perimeter_territories"
    # The aids inside a territory: its perimeters by (level, code).
    __table_args__ = (Index("ix_aid_perimeter_territories_level_code", "level", "code"),)

    perimeter_id: Mapped[int] = mapped_column(
        ForeignKey("aid_perimeters.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[str] = mapped_column(String(16), primary_key=True)  # region, departement, epci, commune
    code: Mapped[str] = mapped_column(String(16), primary_key=True)


class AidLeverMapping(Base):
    """The lever mapping as an administrator last saved it (one row, id 1); none: the shipped default
    (`services/actions/data/aids-lever-mapping/default.json`) applies."""

    __tablename__ = "aid_lever_mapping"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON)
    revision: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(200))

    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012 (SQLAlchemy's declarative form)
