from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from planeco_levers.db import Base


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
