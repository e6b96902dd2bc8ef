from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from planeco_levers.territories.models import EpciNature

REGION_RULE = "the région holding most of its population (ties → lowest code)"
ATTACHMENT_RULE = f"{REGION_RULE}; its département likewise, among its départements in that région"


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RegionRead(Schema):
    code: str = Field(description="INSEE code of the région", examples=["24"])
    name: str = Field(examples=["Centre-Val de Loire"])
    chef_lieu: str = Field(description="INSEE code of the prefecture commune")
    zone: str = Field(description="metro or drom")
    population: int = Field(description="Population municipale 2023, summed from its communes")
    departement_count: int
    epci_count: int = Field(description=f"EPCI à fiscalité propre attached to it: {ATTACHMENT_RULE}")
    commune_count: int


class DepartementRead(Schema):
    code: str = Field(examples=["45"])
    name: str = Field(examples=["Loiret"])
    region: str = Field(description="INSEE code of its région")
    chef_lieu: str
    zone: str
    population: int = Field(description="Population municipale 2023, summed from its communes")
    epci_count: int = Field(description=f"EPCI à fiscalité propre attached to it: {ATTACHMENT_RULE}")
    commune_count: int


class CommuneSummary(Schema):
    code: str = Field(examples=["45234"])
    name: str = Field(examples=["Orléans"])
    population: int


class EpciRead(Schema):
    siren: str = Field(description="SIREN of the EPCI", examples=["244500468"])
    name: str = Field(examples=["Orléans Métropole"])
    nature: EpciNature = Field(
        description="ME métropole, MET69 Métropole de Lyon, CU communauté urbaine, "
        "CA communauté d'agglomération, CC communauté de communes"
    )
    financing_mode: str = Field(
        description="FPU (fiscalité professionnelle unique) or FA (fiscalité additionnelle)"
    )
    region: str = Field(description=f"Région it is attached to: {ATTACHMENT_RULE}")
    departement: str = Field(description="Département it is attached to (same rule)")
    population: int = Field(description="Population municipale 2023, summed from its member communes")
    commune_count: int


class EpciDetail(EpciRead):
    regions: list[str] = Field(description="Every région its communes lie in (two for 26 EPCI)")
    departements: list[str] = Field(description="Every département its communes lie in")
    members: list[CommuneSummary]


class EptRead(Schema):
    siren: str = Field(examples=["200057867"])
    name: str = Field(examples=["Plaine Commune"])
    region: str
    departement: str = Field(description=f"Département it is attached to: {ATTACHMENT_RULE}")
    population: int
    commune_count: int


class EptDetail(EptRead):
    members: list[CommuneSummary]


class CommuneRead(Schema):
    code: str = Field(description="INSEE code", examples=["45234"])
    name: str = Field(examples=["Orléans"])
    departement: str = Field(examples=["45"])
    region: str = Field(examples=["24"])
    epci: str | None = Field(
        description="SIREN of its EPCI à fiscalité propre (none for 4 island communes)",
        examples=["244500468"],
    )
    ept: str | None = Field(description="SIREN of its EPT (Métropole du Grand Paris only)")
    siren: str | None = Field(description="SIREN of the commune itself")
    population: int = Field(description="Population municipale 2023")
    postal_codes: list[str]


class CrteMemberKind(StrEnum):
    epci = "epci"
    commune = "commune"


class CrteMemberRead(Schema):
    kind: CrteMemberKind
    code: str = Field(description="SIREN of an EPCI or INSEE code of a commune")
    name: str
    population: int


class CrteRead(Schema):
    id: str = Field(description="CRTE identifier, as uploaded")
    name: str
    region: str = Field(description=f"Derived from its members: {REGION_RULE}")
    departement: str | None = Field(
        description="Its département, derived from its members: the one holding most of its population in "
        "its région (ties → lowest code); null only for a CRTE loaded before it was derived",
        examples=["45"],
    )
    population: int = Field(description="Population municipale 2023 of the communes it covers")
    commune_count: int = Field(description="Communes it covers, directly or through a member EPCI")


class CrteDetail(CrteRead):
    members: list[CrteMemberRead]


class CrteImportReport(BaseModel):
    regions: list[str] = Field(description="Régions whose CRTE set the file replaced")
    crte: int = Field(description="CRTE in the file")
    members: int = Field(description="Member rows in the file")
    created: list[str]
    updated: list[str]
    deleted: list[str] = Field(description="CRTE of those régions absent from the file, now removed")
    unchanged: int


class CollectiviteLevel(StrEnum):
    departement = "departement"
    epci = "epci"
    commune = "commune"


class CollectiviteRead(Schema):
    """A collectivité as a contributor's scope names it (SIREN or INSEE code), with where it lies."""

    level: CollectiviteLevel
    code: str = Field(description="INSEE code (département, commune) or SIREN (EPCI)", examples=["45234"])
    siren: str | None = Field(description="Its SIREN, when known", examples=["214502346"])
    name: str = Field(examples=["Orléans"])
    regions: list[str] = Field(description="The régions it lies in (two for an EPCI spanning them)")
    departements: list[str] = Field(description="The départements it lies in")
    epci: str | None = Field(description="A commune's EPCI à fiscalité propre (SIREN)")
