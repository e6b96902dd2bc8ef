from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from planeco_diagnostic.contacts.models import ContactLevel
from planeco_shared.codes import (
    COMMUNE_PATTERN,
    DEPARTEMENT_PATTERN,
    REGION_PATTERN,
    SIREN_PATTERN,
    RegionCode,
)
from planeco_shared.patch import OMITTED, PatchBody
from planeco_shared.text import FreeText

CODE_PATTERNS = {
    ContactLevel.region: re.compile(REGION_PATTERN),
    ContactLevel.departement: re.compile(DEPARTEMENT_PATTERN),
    ContactLevel.epci: re.compile(SIREN_PATTERN),
    ContactLevel.commune: re.compile(COMMUNE_PATTERN),
}
CODE_NAMES = {
    ContactLevel.region: "the INSEE code of a région (2 digits)",
    ContactLevel.departement: "the INSEE code of a département",
    ContactLevel.epci: "the SIREN of an EPCI (9 digits)",
    ContactLevel.commune: "the INSEE code of a commune (5 characters)",
}


def _lower(value: str) -> str:
    return value.lower()


Email = Annotated[
    EmailStr,
    AfterValidator(_lower),
    Field(
        max_length=320, description="E-mail address (stored in lower case)", examples=["c.martin@loiret.fr"]
    ),
]
PersonName = Annotated[
    FreeText,
    StringConstraints(strip_whitespace=True, max_length=200),
    Field(description="Name of the person", examples=["Camille Martin"]),
]
Function = Annotated[
    FreeText,
    StringConstraints(strip_whitespace=True, max_length=200),
    Field(description="Function in the collectivité", examples=["Chargée de mission transition écologique"]),
]
CollectiviteCode = Annotated[
    str,
    Field(
        description="Code of the collectivité: INSEE code (région, département, commune) or SIREN (EPCI)",
        examples=["45"],
    ),
]


class ContactCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    collectivite_level: ContactLevel = Field(description="What the collectivité is", examples=["departement"])
    collectivite: CollectiviteCode
    email: Email
    name: PersonName = Field(default="", description="Name of the person; empty when not given")
    function: Function = Field(default="", description="Function in the collectivité; empty when not given")
    primary: bool = Field(
        default=False,
        description="The collectivité's primary contact (invitations go to it first); setting it makes "
        "the collectivité's other contacts not primary. Default: false, except for a collectivité's first "
        "contact",
    )

    @model_validator(mode="after")
    def _code_fits_level(self) -> Self:
        check_code(self.collectivite_level, self.collectivite)
        return self


def check_code(level: ContactLevel, code: str) -> None:
    if not CODE_PATTERNS[level].match(code):
        raise ValueError(f"collectivite {code!r} is not {CODE_NAMES[level]}")


class ContactUpdate(PatchBody):
    """Omitted fields are kept; none of them can be cleared (an empty string clears name and function). The
    collectivité of a contact does not change: delete it and create another."""

    email: Email = OMITTED
    name: PersonName = OMITTED
    function: Function = OMITTED
    primary: bool = OMITTED


class ContactRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    collectivite_level: ContactLevel = Field(validation_alias="level")
    collectivite: str = Field(validation_alias="code", examples=["45"])
    collectivite_name: str = Field(description="As the levers service names it", examples=["Loiret"])
    region: str = Field(validation_alias="region_code", description="Where it lies", examples=["24"])
    departement: str | None = Field(
        validation_alias="departement_code",
        description="Where it lies (an EPCI: its seat's département); null for a région",
        examples=["45"],
    )
    email: str = Field(examples=["c.martin@loiret.fr"])
    name: str = Field(examples=["Camille Martin"])
    function: str = Field(examples=["Chargée de mission transition écologique"])
    primary: bool = Field(validation_alias="is_primary")
    created_by: str
    revision: int = Field(
        validation_alias="version", description="Incremented by each change; the ETag carries it"
    )
    created_at: dt.datetime
    updated_at: dt.datetime


class ContactFilters(BaseModel):
    """Everything inside a région or a département, one collectivité, one level."""

    region: Annotated[
        RegionCode | None, Field(description="Only contacts of collectivités in this région")
    ] = None
    departement: Annotated[
        str | None,
        Field(pattern=DEPARTEMENT_PATTERN, description="Only contacts of collectivités in this département"),
    ] = None
    collectivite_level: ContactLevel | None = Field(default=None, description="Only this level")
    collectivite: str | None = Field(
        default=None, pattern=r"^[0-9AB]{2,9}$", description="Only this collectivité's (INSEE code or SIREN)"
    )
