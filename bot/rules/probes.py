"""How a rule test synthesises a metric at a value V: series built from small arithmetic in V.

`gauge` sets a series to a value, `counter` makes a counter grow at a per-second rate, `histogram`
shapes a histogram's buckets so one quantile has the value. The arithmetic (`V * 200 - 3`,
`(1 - V) * 100`) is parsed here with a whitelist, never evaluated as Python.
"""

import ast
import operator
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag

_BINARY: Mapping[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def evaluate(expression: str, v: float) -> float:
    """Arithmetic of numbers, V, + - * / and parentheses."""

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id == "V":
            return v
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        raise ValueError(f"{expression!r}: only numbers, V, + - * / and parentheses are allowed")

    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"{expression!r} is not arithmetic in V (e.g. `V * 100`)") from exc
    return walk(tree)


def _check_expression(value: str) -> str:
    evaluate(value, 0.5)
    return value


# YAML reads `value: 200` as a number; the expression is its text either way.
VExpr = Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int | float) else v),
                  AfterValidator(_check_expression)]

_SELECTOR = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')


def parse_selector(text: str) -> tuple[str, dict[str, str]]:
    """`name{a="1",b="2"}` → ("name", {"a": "1", "b": "2"}); only exact-match labels."""
    match = _SELECTOR.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a series like name{{label=\"value\"}}")
    labels: dict[str, str] = {}
    body = match.group("labels") or ""
    position = 0
    while position < len(body):
        label = _LABEL.match(body, position)
        if not label or label.end() == position:
            raise ValueError(f"{text!r}: cannot read the labels from position {position} (expected name=\"value\")")
        labels[label.group(1)] = label.group(2)
        position = label.end()
    return match.group("name"), labels


def format_selector(name: str, labels: Mapping[str, str]) -> str:
    inside = ",".join(f'{key}="{value}"' for key, value in labels.items())
    return f"{name}{{{inside}}}" if inside else name


def _check_selector(value: str) -> str:
    parse_selector(value)
    return value


Selector = Annotated[str, AfterValidator(_check_selector)]


class _Probe(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Gauge(_Probe):
    gauge: Selector
    value: VExpr = "V"


class Counter(_Probe):
    counter: Selector
    rate: VExpr = Field(description="per-second increase")


class Histogram(_Probe):
    histogram: Selector = Field(description="the histogram's name and labels, without _bucket / le")
    quantile: float = Field(gt=0, lt=1)
    value: VExpr = "V"
    rate: float = Field(default=1.0, gt=0, description="observations per second")


def _kind(value: Any) -> str | None:
    if isinstance(value, _Probe):
        return type(value).__name__.lower()
    if isinstance(value, dict):
        return next((kind for kind in ("gauge", "counter", "histogram") if kind in value), None)
    return None


# The key present picks the kind, so an error names that kind's fields, not all three kinds'.
Probe = Annotated[
    Annotated[Gauge, Tag("gauge")] | Annotated[Counter, Tag("counter")] | Annotated[Histogram, Tag("histogram")],
    Discriminator(_kind, custom_error_type="probe_kind",
                  custom_error_message="a series needs one of gauge, counter or histogram"),
]


def num(value: float) -> str:
    """A number as promtool input reads it, exact enough and stable across runs."""
    return format(value, ".12g")


def input_series(probe: Probe, v: float, samples: int, interval_s: float) -> list[dict[str, Any]]:
    """promtool `input_series` entries holding the probe at V for `samples` + 1 samples."""
    if isinstance(probe, Gauge):
        return [{"series": probe.gauge, "values": f"{num(evaluate(probe.value, v))}x{samples}"}]
    if isinstance(probe, Counter):
        step = evaluate(probe.rate, v) * interval_s
        return [{"series": probe.counter, "values": f"0+{num(step)}x{samples}"}]
    # One finite bucket whose upper bound puts the quantile exactly at the value (histogram_quantile
    # interpolates linearly from 0 inside the first bucket), and the +Inf bucket holding the same count.
    name, labels = parse_selector(probe.histogram)
    bound = evaluate(probe.value, v) / probe.quantile
    growth = f"0+{num(probe.rate * interval_s)}x{samples}"
    return [
        {"series": format_selector(f"{name}_bucket", {**labels, "le": num(bound)}), "values": growth},
        {"series": format_selector(f"{name}_bucket", {**labels, "le": "+Inf"}), "values": growth},
    ]


def _reject_empty(value: Any) -> Any:
    if isinstance(value, list) and not value:
        raise ValueError("at least one series is needed")
    return value


Series = Annotated[list[Probe], BeforeValidator(_reject_empty)]
