"""How the levers API writes exact decimals: JSON strings, plain notation, no float anywhere.

Quantities (ktCO2e, physical units, ratios) are `Decimal` from the data file to the response. They are
serialised as strings such as "966.1408" (the same convention as the actions service): never in exponent
notation, trailing zeros of the stored scale removed, so a figure reads exactly as the SGPE file wrote it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema

from planeco_shared.tabular import plain_decimal

DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"

# Decimal('966.140800') → '966.1408'; Decimal('1E+3') → '1000'; Decimal('-0.00') → '0'. The CSV exports write
# the same strings (planeco_shared.tabular).
plain = plain_decimal


ExactDecimal = Annotated[
    Decimal,
    PlainSerializer(plain, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DECIMAL_PATTERN,
            "description": "Exact decimal as a string (no float rounding, no exponent)",
        },
        mode="serialization",
    ),
]
