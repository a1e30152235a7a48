"""``intstr.GetScaledValueFromIntOrPercent``: an int, or a percentage of a total."""

from __future__ import annotations

import math
import re
from typing import Any

_PERCENT = re.compile(r"^(\d+)%$")


class IntOrPercentError(ValueError):
    pass


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """``value`` itself if an int, else ``value``% of ``total`` rounded up or down."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise IntOrPercentError(f"invalid value for IntOrString: {value!r}")
    if isinstance(value, int):
        return value
    text = str(value)
    m = _PERCENT.match(text)
    if m is None:
        raise IntOrPercentError(
            "invalid value for IntOrString: invalid type: string is not a percentage"
        )
    scaled = int(m.group(1)) * total / 100
    return math.ceil(scaled) if round_up else math.floor(scaled)
