from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from planeco_levers.db import Base
from planeco_shared.models import PortableJSON


class EpciNature(StrEnum):
    """Nature juridique of an EPCI à fiscalité propre (DGCL codes)."""

    ME = "ME"  # métropole
    MET69 = "MET69"  # Métropole de Lyon (collectivité à statut particulier, counted with the EPCI)
    CU = "CU"  # communauté urbaine
    CA = "CA"  # communauté d'agglomération
    CC = "CC"  # communauté de communes


class Region(Base):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)  # INSEE code, "24", "01"
    name: Mapped[str] = mapped_column(String(120))
    chef_lieu: Mapped[str] = mapped_column(String(5))  # INSEE code of the prefecture commune
    zone: Mapped[str] = mapped_column(String(10))  # "metro" or "drom"
    population: Mapped[int] = mapped_column(Integer, default=0)  # sum of its communes (municipale)


class Departement(Base):
    __tablename__ = "departements"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)  # "45", "2A", "971"
    name: Mapped[str] = mapped_column(String(120))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    chef_lieu: Mapped[str] = mapped_column(String(5))
    zone: Mapped[str] = mapped_column(String(10))
    population: Mapped[int] = mapped_column(Integer, default=0)


class Epci(Base):
    """EPCI à fiscalité propre. Attached to ONE région and ONE département (see importer.attach)."""

    __tablename__ = "epcis"

    siren: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_search: Mapped[str] = mapped_column(String(200), index=True)  # see territories.search.normalize
    nature: Mapped[str] = mapped_column(String(5), index=True)  # EpciNature
    financing_mode: Mapped[str] = mapped_column(String(5))  # "FPU" (fiscalité professionnelle unique) or "FA"
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    departement_code: Mapped[str] = mapped_column(ForeignKey("departements.code"), index=True)
    population: Mapped[int] = mapped_column(Integer, default=0)  # sum of its member communes


class Ept(Base):
    """Établissement public territorial of the Métropole du Grand Paris: NOT an EPCI à fiscalité propre."""

    __tablename__ = "epts"

    siren: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    departement_code: Mapped[str] = mapped_column(ForeignKey("departements.code"), index=True)
    population: Mapped[int] = mapped_column(Integer, default=0)


class Commune(Base):
    __tablename__ = "communes"

    code: Mapped[str] = mapped_column(String(5), primary_key=True)  # INSEE code, "45234", "2A004"
    name: Mapped[str] = mapped_column(String(120))
    name_search: Mapped[str] = mapped_column(String(120), index=True)  # see territories.search.normalize
    departement_code: Mapped[str] = mapped_column(ForeignKey("departements.code"), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    siren: Mapped[str | None] = mapped_column(String(9), index=True)
    epci_siren: Mapped[str | None] = mapped_column(ForeignKey("epcis.siren"), index=True)  # 4 islands: none
    ept_siren: Mapped[str | None] = mapped_column(ForeignKey("epts.siren"), index=True)
    population: Mapped[int] = mapped_column(Integer, default=0)  # population municipale 2023
    postal_codes: Mapped[list[str]] = mapped_column(PortableJSON, default=list)


class Crte(Base):
    """Contrat pour la réussite de la transition écologique: a perimeter of EPCI and/or communes."""

    __tablename__ = "crte"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the ANCT identifier, as uploaded
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)  # derived from members
    # Its département in that région, by the same attachment rule (the one holding most of its population)
    departement_code: Mapped[str | None] = mapped_column(ForeignKey("departements.code"), index=True)
    population: Mapped[int] = mapped_column(Integer, default=0)  # sum of the communes it covers


class CrteMember(Base):
    """One member of a CRTE: an EPCI or a commune. Unique keys: a member belongs to one CRTE only."""

    __tablename__ = "crte_members"
    __table_args__ = (CheckConstraint("(epci_siren IS NULL) <> (commune_code IS NULL)", name="one_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    crte_id: Mapped[str] = mapped_column(ForeignKey("crte.id", ondelete="CASCADE"), index=True)
    epci_siren: Mapped[str | None] = mapped_column(ForeignKey("epcis.siren"), unique=True)
    commune_code: Mapped[str | None] = mapped_column(ForeignKey("communes.code"), unique=True)
