"""Durations written the way people write them in YAML: `30s`, `10m`, `24h`, `1h30m`, or seconds."""

import re
from typing import Annotated

from pydantic import BeforeValidator

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
FORM = "a duration like 30s, 10m, 24h, 1h30m or a number of seconds"


def parse_duration(value: object) -> float:
    """Seconds in `value`; ValueError naming the expected form otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not {FORM}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        try:
            seconds = float(text)
        except ValueError:
            parts = _PART.findall(text)
            if not parts or "".join(n + u for n, u in parts) != text:
                raise ValueError(f"{value!r} is not {FORM}") from None
            seconds = sum(float(n) * _UNIT[u] for n, u in parts)
    else:
        raise ValueError(f"{value!r} is not {FORM}")
    if seconds < 0:
        raise ValueError(f"{value!r} is negative; expected {FORM}")
    return seconds


def format_duration(seconds: float) -> str:
    """`600.0` → `10m`, `86400` → `24h`, `90` → `1m30s`: how plans show durations."""
    if seconds < 1:
        return f"{seconds:g}s"
    rest = round(seconds)
    out = ""
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out += f"{rest // size}{unit}"
            rest %= size
    return out


Duration = Annotated[float, BeforeValidator(parse_duration)]
