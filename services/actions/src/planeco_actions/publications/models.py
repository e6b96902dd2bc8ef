"""Published roadmaps: dated, numbered, immutable snapshots of a région's or a département's roadmap,
with the files made from them at publication (stored, so that they are served byte-identical forever)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from planeco_actions.db import Base
from planeco_shared.models import UTCDateTime
from planeco_shared.owners import OwnedMixin


class Publication(OwnedMixin, Base):
    """One publication of a territory's roadmap: number n of its owner (1, 2, 3…), never changed."""

    __tablename__ = "roadmap_publications"
    __table_args__ = (
        UniqueConstraint("owner_level", "owner_code", "number", name="uq_roadmap_publications_number"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    notes: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[str] = mapped_column(String(10))  # the panorama version of the snapshot
    year: Mapped[int] = mapped_column(Integer)  # the year of its on-track figures
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    published_by: Mapped[str] = mapped_column(String(200))
    etag: Mapped[str] = mapped_column(String(80))  # the snapshot's (roadmap.json) strong ETag


class PublicationFile(Base):
    """A file of a publication, as made when it was published: the snapshot, the exports, the package."""

    __tablename__ = "roadmap_publication_files"

    publication_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("roadmap_publications.id"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(60), primary_key=True)  # "roadmap.json", "levers.csv"…
    media_type: Mapped[str] = mapped_column(String(120))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    etag: Mapped[str] = mapped_column(String(80))
