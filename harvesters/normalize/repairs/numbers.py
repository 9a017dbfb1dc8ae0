"""Reading numbers as real feeds send them, for the repairs that reason about them."""
from __future__ import annotations

import math


def number(value: object) -> float | None:
    """A JSON number, or a number sent as text (with a decimal comma, too); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip().replace(",", "."))
        except ValueError:
            return None
    else:
        return None
    return result if math.isfinite(result) else None


def missing(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
