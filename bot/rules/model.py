"""The thresholds file (runbooks/thresholds.yml) as validated pydantic models."""

import re
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from bot.rules.probes import Series
from bot.rules.units import Unit, show

Duration = Annotated[str, StringConstraints(pattern=r"^([0-9]+(ms|[smhdwy]))+$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
AlertName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Za-z0-9]*$")]
LabelName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")]

_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def duration_seconds(text: str) -> float:
    """Seconds in a Prometheus duration such as `5m` or `1h30m`."""
    return sum(int(n) * _SECONDS[u] for n, u in re.findall(r"([0-9]+)(ms|[smhdwy])", text))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Direction(StrEnum):
    ABOVE = "above"  # bad when the value rises past the threshold
    BELOW = "below"  # bad when it falls under it (e.g. a cache hit rate)


class Level(StrEnum):
    NORMAL = "normal"
    UNUSUAL = "unusual"  # outside the normal range, short of the warning threshold
    WARNING = "warning"
    CRITICAL = "critical"


class NormalRange(Strict):
    above: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if self.above is None and self.below is None:
            raise ValueError("normal needs `above`, `below` or both (e.g. {below: 0.2})")
        if self.above is not None and self.below is not None and self.above >= self.below:
            raise ValueError(f"normal: above ({self.above}) must be less than below ({self.below})")
        return self

    def contains(self, value: float) -> bool:
        return (self.above is None or value >= self.above) and (self.below is None or value <= self.below)

    def show(self, unit: Unit) -> str:
        if self.above is not None and self.below is not None:
            low, high = show(self.above, unit), show(self.below, unit)
            low_number, low_suffix = re.fullmatch(r"([-+.0-9e]*)(.*)", low).groups()  # type: ignore[union-attr]
            if high.endswith(low_suffix) and low_number:  # 100–1000 req/s, not 100 req/s–1000 req/s
                low = low_number
            return f"{low}–{high}"
        return f"< {show(self.below, unit)}" if self.below is not None else f"> {show(self.above or 0, unit)}"


class MetricTest(Strict):
    labels: dict[LabelName, str] = Field(description="labels the alert carries, besides the rule's own")
    series: Series


class Threshold(Strict):
    """One row of a runbook metric table."""

    id: Slug
    name: str = Field(min_length=1)
    alert: AlertName
    unit: Unit
    direction: Direction
    normal: NormalRange
    warning: float
    critical: float
    for_: Duration = Field(alias="for")
    expr: str = Field(min_length=1)
    test: MetricTest

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        word = "above" if self.direction is Direction.ABOVE else "below"
        if self.beyond(self.warning, self.critical) or self.warning == self.critical:
            raise ValueError(f"{self.id}: critical ({self.critical}) must be further {word} than warning "
                             f"({self.warning}) for a metric that alerts {word} its threshold")
        bound = self.normal.below if self.direction is Direction.ABOVE else self.normal.above
        if bound is not None and self.beyond(bound, self.warning):
            raise ValueError(f"{self.id}: the normal range reaches past the warning threshold ({self.warning})")
        return self

    def beyond(self, value: float, threshold: float) -> bool:
        """True when `value` is past `threshold` on the bad side (strictly, as the rule compares)."""
        return value > threshold if self.direction is Direction.ABOVE else value < threshold

    def classify(self, value: float) -> Level:
        """Where a measured value sits in the runbook's table."""
        if self.beyond(value, self.critical):
            return Level.CRITICAL
        if self.beyond(value, self.warning):
            return Level.WARNING
        return Level.NORMAL if self.normal.contains(value) else Level.UNUSUAL

    @property
    def operator(self) -> str:
        return ">" if self.direction is Direction.ABOVE else "<"

    def show(self, level: Level) -> str:
        """The table cell as the runbook writes it: `> 500ms`, `< 80%`, `100–1000 req/s`."""
        if level is Level.NORMAL:
            return self.normal.show(self.unit)
        if level in (Level.WARNING, Level.CRITICAL):
            value = self.warning if level is Level.WARNING else self.critical
            return f"{self.operator} {show(value, self.unit)}"
        raise ValueError(f"no table cell for level {level}")


class Table(Strict):
    component: Slug
    title: str
    metrics: list[Threshold] = Field(min_length=1)


class PrometheusRule(Strict):
    """An alerting rule as Prometheus reads it."""

    alert: AlertName
    expr: str = Field(min_length=1)
    for_: Duration = Field(alias="for")
    labels: dict[LabelName, str] = Field(default_factory=dict)
    annotations: dict[LabelName, str] = Field(default_factory=dict)


class RuleTest(Strict):
    labels: dict[LabelName, str]
    fires_at: float
    quiet_at: float
    series: Series


class RunbookAlert(Strict):
    rule: PrometheusRule
    test: RuleTest


class RunbookAlerts(Strict):
    group: Slug
    rules: list[RunbookAlert]


class Thresholds(Strict):
    version: Literal[1]
    tables: list[Table] = Field(min_length=1)
    runbook_alerts: RunbookAlerts

    @model_validator(mode="after")
    def _unique(self) -> Self:
        keys = [key for key, _ in self.items()]
        components = [table.component for table in self.tables]
        threshold_alerts = [metric.alert for _, metric in self.items()]
        alerts = threshold_alerts + [entry.rule.alert for entry in self.runbook_alerts.rules]
        for what, values in (("component", components), ("metric id", keys), ("alert name", alerts)):
            repeated = sorted({value for value in values if values.count(value) > 1})
            if repeated:
                raise ValueError(f"{what} used more than once: {', '.join(repeated)}")
        return self

    def items(self) -> Iterator[tuple[str, Threshold]]:
        """Every row as ("component.id", threshold), in the runbook's order."""
        for table in self.tables:
            for metric in table.metrics:
                yield f"{table.component}.{metric.id}", metric

    def get(self, key: str) -> Threshold:
        """A row by "component.id" (e.g. "redis.hit_rate"); KeyError names the known keys."""
        for name, metric in self.items():
            if name == key:
                return metric
        raise KeyError(f"no threshold {key!r}; known: {', '.join(name for name, _ in self.items())}")

    def table(self, component: str) -> Table:
        for table in self.tables:
            if table.component == component:
                return table
        raise KeyError(f"no thresholds table {component!r}")
