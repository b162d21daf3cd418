"""Units of the thresholds, and Prometheus' template functions mirrored in Python.

Alert annotations render `$value` with Prometheus' Go template functions (humanizeDuration, …). The
promtool unit tests must state the exact text they produce, and people read the thresholds in the same
form, so the Python side formats numbers exactly as those functions do.
"""

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Unit(StrEnum):
    SECONDS = "seconds"
    RATIO = "ratio"  # 0–1, shown as a percentage
    REQUESTS_PER_SECOND = "requests_per_second"
    CONNECTIONS = "connections"
    KEYS_PER_MINUTE = "keys_per_minute"


def go_g4(value: float) -> str:
    """Go's and C's `%.4g` agree for finite numbers; Prometheus' humanize* functions use it."""
    return format(value, ".4g")


def go_value(value: float) -> str:
    """A float64 printed by a Go template (`{{ $value }}`): shortest form, no trailing `.0`."""
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def humanize_duration(value: float) -> str:
    """Prometheus' humanizeDuration."""
    if math.isnan(value) or math.isinf(value):
        return go_g4(value)
    if value == 0:
        return f"{go_g4(value)}s"
    if abs(value) >= 1:
        sign = "-" if value < 0 else ""
        whole = int(abs(value))
        seconds, minutes = whole % 60, (whole // 60) % 60
        hours, days = (whole // 3600) % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{go_g4(abs(value))}s"
    prefix = ""
    for candidate in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(value) >= 1:
            break
        prefix = candidate
        value *= 1000
    return f"{go_g4(value)}{prefix}s"


def humanize_percentage(value: float) -> str:
    """Prometheus' humanizePercentage."""
    return f"{go_g4(value * 100)}%"


def _whole(value: float) -> str:
    return f"{value:.0f}"


@dataclass(frozen=True)
class UnitFormat:
    template: str  # Go template text showing $value in an alert annotation
    render: Callable[[float], str]  # what that template prints, computed in Python


FORMATS: Mapping[Unit, UnitFormat] = {
    Unit.SECONDS: UnitFormat("{{ $value | humanizeDuration }}", humanize_duration),
    Unit.RATIO: UnitFormat("{{ $value | humanizePercentage }}", humanize_percentage),
    Unit.REQUESTS_PER_SECOND: UnitFormat('{{ printf "%.0f" $value }} req/s', lambda v: f"{_whole(v)} req/s"),
    Unit.CONNECTIONS: UnitFormat('{{ printf "%.0f" $value }}', _whole),
    Unit.KEYS_PER_MINUTE: UnitFormat('{{ printf "%.0f" $value }} keys/min', lambda v: f"{_whole(v)} keys/min"),
}


def show(value: float, unit: Unit) -> str:
    """A threshold or a measurement as people read it: 500ms, 1%, 2000 req/s."""
    return FORMATS[unit].render(value)


# The template actions the generated and the runbook's annotations use; anything else is refused, so a
# promtool expectation is never guessed.
_ACTION = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_PIPES: Mapping[str, Callable[[float], str]] = {
    "$value": go_value,
    "$value | humanizeDuration": humanize_duration,
    "$value | humanizePercentage": humanize_percentage,
    'printf "%.0f" $value': _whole,
}


def render_template(template: str, value: float, labels: Mapping[str, str]) -> str:
    """What Prometheus prints for an annotation template, for the actions listed above and $labels.x."""

    def action(match: re.Match[str]) -> str:
        body = match.group(1)
        if body in _PIPES:
            return _PIPES[body](value)
        label = re.fullmatch(r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)", body)
        if label:
            return labels.get(label.group(1), "")
        raise ValueError(f"template action {{{{ {body} }}}} is not one the rule tests can render")

    return _ACTION.sub(action, template)
