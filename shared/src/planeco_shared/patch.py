"""PATCH bodies: an omitted field keeps its value, `null` clears it, where clearing means something.

A field the resource cannot be without (a title, a status, a list that is empty rather than absent)
is declared `X | SkipJsonSchema[None] = None`: the contract shows it as not nullable, and `PatchBody`
refuses an explicit `null` for it as a 422 naming the field. Without this, `{"title": null}` reached
the database (a misleading 409, or a row that no longer reads back: found by fuzz/contract.py).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator


class PatchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The fields `null` may not be sent for: omit them to keep the current value.
    NOT_NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null_where_not_nullable(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name in cls.NOT_NULLABLE:
            raise ValueError("may not be null: omit the field to keep its current value")
        return value
