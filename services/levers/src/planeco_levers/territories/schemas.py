from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RegionRead(Schema):
    code: str = Field(description="INSEE code of the région", examples=["24"])
    name: str = Field(examples=["Centre-Val de Loire"])
    chef_lieu: str = Field(description="INSEE code of the prefecture commune")
    zone: str = Field(description="metro or drom")
    population: int = Field(description="Population municipale 2023, summed from its communes")
    departement_count: int


class DepartementRead(Schema):
    code: str = Field(examples=["45"])
    name: str = Field(examples=["Loiret"])
    region: str = Field(description="INSEE code of its région")
    chef_lieu: str
    zone: str
    population: int
