"""PATCH bodies: an omitted field keeps its value, `null` clears it, where clearing means something.

A field the resource cannot be without (a title, a status, a list that is empty rather than absent) is
typed without `None` and defaults to `OMITTED` (None, never validated: it only marks the field as not
sent, and `exclude_unset` drops it). The contract then shows it as not nullable, and `PatchBody`
answers an explicit `null` with one clear error naming the field. Without this, `{"title": null}` reached
the database (a misleading 409, or a row that no longer read back: found by fuzz/contract.py).
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

# Typed Any so that `title: Title = OMITTED` type-checks: the default is never validated.
OMITTED: Any = None


def admits_none(annotation: Any) -> bool:
    if annotation is None or annotation is type(None):
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        return admits_none(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(admits_none(arg) for arg in typing.get_args(annotation))
    return annotation is Any


class PatchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null_where_not_nullable(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name
        if value is None and name is not None and not admits_none(cls.model_fields[name].annotation):
            raise ValueError("may not be null: omit the field to keep its current value")
        return value
