from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from planeco_shared.text import FreeText

Cell = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class AnswerRow(BaseModel):
    """One row of a responses file: one collectivité's answer to one item."""

    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=9)]
    name: Annotated[str, StringConstraints(max_length=200)] = ""  # ignored: the invitee's name is kept
    item: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
    pertinence: Cell | None = None
    mobilisation: Cell | None = None
    needs: Cell | None = None
    quantity: Cell | None = None
    comment: Annotated[FreeText, StringConstraints(max_length=2000)] | None = None
    value: Cell | None = None


class ResponseImportResult(BaseModel):
    """What an import did; the same file again: every response `unchanged`."""

    rows: int = Field(description="Rows read (blank rows skipped)", examples=[8600])
    respondents: int = Field(description="Distinct collectivités in the file", examples=[86])
    created: int = Field(description="Responses started by the import", examples=[80])
    updated: int = Field(description="Responses whose answers changed", examples=[4])
    unchanged: int = Field(description="Responses the file left as they were", examples=[2])
    submitted: int = Field(description="Responses submitted by the import (with `submit`)", examples=[84])
