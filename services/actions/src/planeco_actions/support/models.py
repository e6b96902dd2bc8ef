"""Support measures (dispositifs d'accompagnement): what the State and other bodies offer per lever."""

from __future__ import annotations

import uuid

from sqlalchemy import Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from planeco_actions.db import Base
from planeco_shared.models import ArchivableMixin, PortableJSON, TimestampMixin
from planeco_shared.owners import OwnedMixin


class SupportMeasure(OwnedMixin, ArchivableMixin, TimestampMixin, Base):
    """One measure of one owner's catalogue (the nation's, a région's or a département's), as its last
    import gave it. A measure left out of a later import of the same owner is archived, not deleted."""

    __tablename__ = "support_measures"
    __table_args__ = (UniqueConstraint("owner_key", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # The owner as a query names it (`nation`, `region:24`, `departement:45`): one key per catalogue, which a
    # unique constraint can hold (the owner's code is null for the nation, and nulls are all distinct).
    owner_key: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(80))  # the owner's stable key: re-imports update in place
    title: Mapped[str] = mapped_column(String(300))
    carrier: Mapped[str] = mapped_column(String(200))  # the body that offers it
    url: Mapped[str | None] = mapped_column(String(1000))
    description: Mapped[str] = mapped_column(Text, default="")
    lever_ids: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    # The same ids between bars ("|augm_voitelec|haies|"): a LIKE filter on both databases.
    lever_index: Mapped[str] = mapped_column(String(2000), default="")
    support_types: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    support_type_index: Mapped[str] = mapped_column(String(300), default="")
    audiences: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    audience_index: Mapped[str] = mapped_column(String(300), default="")
    in_own_hands: Mapped[str] = mapped_column(Text, default="")  # what lies in the collectivité's hands
    resources: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's declarative API)
