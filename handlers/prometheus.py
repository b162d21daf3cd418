"""prometheus.check and prometheus.watch: PromQL values against the runbook's warning/critical thresholds.

A rule's value is its worst series (the highest for "above", the lowest for "below"): one bad instance
is a bad deployment. A query that returns nothing (or NaN, e.g. an error ratio with no traffic) is
"no data" — by default not a breach, since a quiet minute after a switch is normal.
"""

import asyncio
import math
from dataclasses import dataclass
from typing import Any, Literal

from prometheus_api_client import PrometheusConnect
from pydantic import BaseModel, ConfigDict, Field, model_validator
from urllib3.util.retry import Retry

from handlers._common import guarded
from handlers.registry import Params, StepContext, StepResult, handler

Level = Literal["ok", "warning", "critical"]


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    promql: str
    warning: float
    critical: float
    direction: Literal["above", "below"] = "above"
    on_no_data: Level = "ok"

    @model_validator(mode="after")
    def _ordered(self) -> "Rule":
        worse = self.critical >= self.warning if self.direction == "above" else self.critical <= self.warning
        if not worse:
            raise ValueError(f"{self.name}: critical must be at least as bad as warning for direction {self.direction}")
        return self


class CheckParams(Params):
    url: str
    rules: list[Rule] = Field(min_length=1)
    query_timeout_s: float = Field(default=10.0, gt=0)


class WatchParams(CheckParams):
    duration_s: float = Field(gt=0)
    interval_s: float = Field(default=15.0, gt=0)


@dataclass(frozen=True)
class Reading:
    rule: Rule
    value: float | None  # None: no data
    level: Level

    def line(self) -> str:
        shown = "no data" if self.value is None else f"{self.value:.6g}"
        sign = ">" if self.rule.direction == "above" else "<"
        return (f"{self.rule.name} = {shown} [{self.level}] "
                f"(warning {sign} {self.rule.warning:g}, critical {sign} {self.rule.critical:g})")

    def breach(self) -> dict[str, Any]:
        threshold = self.rule.critical if self.level == "critical" else self.rule.warning
        return {"rule": self.rule.name, "level": self.level, "value": self.value, "threshold": threshold,
                "direction": self.rule.direction}


def level_of(rule: Rule, value: float | None) -> Level:
    if value is None:
        return rule.on_no_data
    beyond = (lambda t: value > t) if rule.direction == "above" else (lambda t: value < t)
    if beyond(rule.critical):
        return "critical"
    return "warning" if beyond(rule.warning) else "ok"


def sample_values(result: Any) -> list[float]:
    """Numbers from a custom_query result: an instant vector [{metric, value: [ts, "v"]}] or a scalar [ts, "v"]."""
    raw: list[Any] = []
    if isinstance(result, list) and len(result) == 2 and not isinstance(result[0], dict):
        raw = [result[1]]
    elif isinstance(result, list):
        raw = [item["value"][1] for item in result if isinstance(item, dict) and "value" in item]
    values = [float(v) for v in raw]
    return [v for v in values if not math.isnan(v)]


def worst(rule: Rule, values: list[float]) -> float | None:
    if not values:
        return None
    return max(values) if rule.direction == "above" else min(values)


async def read_all(prom: PrometheusConnect, rules: list[Rule], timeout_s: float) -> list[Reading]:
    readings = []
    for rule in rules:
        result = await asyncio.to_thread(prom.custom_query, rule.promql, None, math.ceil(timeout_s))
        value = worst(rule, sample_values(result))
        readings.append(Reading(rule, value, level_of(rule, value)))
    return readings


def _connect(url: str) -> PrometheusConnect:
    # The client's default retries back off for ~7 s; a step has its own timeout and watch its own cadence.
    retry = Retry(total=2, backoff_factor=0.25, status_forcelist=[502, 503, 504])
    return PrometheusConnect(url=url.rstrip("/"), disable_ssl=not url.startswith("https"), retry=retry)


def _outputs(readings: list[Reading], breaches: list[dict[str, Any]]) -> dict[str, Any]:
    return {"values": {r.rule.name: r.value for r in readings}, "breaches": breaches}


@handler("prometheus.check")
@guarded
async def check(params: CheckParams, ctx: StepContext) -> StepResult:
    """Query each rule once; fails on any critical breach."""
    readings = await read_all(_connect(params.url), params.rules, params.query_timeout_s)
    breaches = [r.breach() for r in readings if r.level != "ok"]
    critical = [r for r in readings if r.level == "critical"]
    warnings = [r for r in readings if r.level == "warning"]
    if critical:
        summary = "critical: " + "; ".join(r.line() for r in critical)
    elif warnings:
        summary = "warning: " + "; ".join(r.line() for r in warnings)
    else:
        summary = f"all {len(readings)} rule(s) within thresholds"
    return StepResult(ok=not critical, summary=summary, output="\n".join(r.line() for r in readings),
                      outputs=_outputs(readings, breaches))


@handler("prometheus.watch")
@guarded
async def watch(params: WatchParams, ctx: StepContext) -> StepResult:
    """Query the rules every interval for a window; fails at the first critical breach."""
    prom = _connect(params.url)
    loop = asyncio.get_running_loop()
    start = loop.time()
    log: list[str] = []
    breaches: list[dict[str, Any]] = []
    readings: list[Reading] = []
    samples = errors = 0
    while True:
        elapsed = loop.time() - start
        try:
            readings = await read_all(prom, params.rules, params.query_timeout_s)
        except Exception as exc:  # Prometheus blinking is not the deployment failing; say so and go on
            errors += 1
            log.append(f"t+{elapsed:.0f}s: query failed: {type(exc).__name__}: {exc}")
        else:
            samples += 1
            log.append(f"t+{elapsed:.0f}s: " + "; ".join(r.line() for r in readings))
            breaches += [r.breach() | {"at_s": round(elapsed, 1)} for r in readings if r.level != "ok"]
            critical = [r for r in readings if r.level == "critical"]
            if critical:
                return StepResult(ok=False, summary=f"critical breach {elapsed:.0f}s into the watch: "
                                                    + "; ".join(r.line() for r in critical),
                                  output="\n".join(log), outputs=_outputs(readings, breaches) | {"samples": samples})
        if elapsed >= params.duration_s:
            break
        await asyncio.sleep(min(params.interval_s, max(0.0, params.duration_s - (loop.time() - start))))
    outputs = _outputs(readings, breaches) | {"samples": samples}
    if samples == 0:
        return StepResult(ok=False, summary=f"could not query Prometheus at {params.url} during the "
                                            f"{params.duration_s:g}s watch ({errors} attempts)",
                          output="\n".join(log), outputs=outputs)
    warned = sum(1 for b in breaches if b["level"] == "warning")
    summary = f"no critical breach in {params.duration_s:g}s ({samples} samples"
    summary += f", {warned} warning reading(s))" if warned else ")"
    return StepResult(ok=True, summary=summary, output="\n".join(log), outputs=outputs)
