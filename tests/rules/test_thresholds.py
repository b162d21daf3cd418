"""runbooks/thresholds.yml holds the runbook's three metric tables, row for row, and refuses bad edits."""

import re
from typing import Any

import pytest
import yaml

from bot.errors import ConfigError
from bot.rules.model import Direction, Level
from bot.rules.probes import evaluate
from bot.rules.thresholds import default_path, load, parse
from bot.rules.units import humanize_duration, humanize_percentage, render_template

# Copied from the runbook, "Monitoring & Alerts" → "Key Metrics to Monitor".
RUNBOOK_TABLES = {
    "application": """
| Response Time (p95) | < 200ms | > 500ms | > 1000ms |
| Request Rate | 100-1000 req/s | > 2000 req/s | > 3000 req/s |
| Error Rate | < 0.1% | > 1% | > 5% |
| CPU Usage | < 60% | > 80% | > 90% |
| Memory Usage | < 70% | > 85% | > 95% |
""",
    "database": """
| Connection Pool | < 80% | > 90% | > 95% |
| Query Time (p95) | < 50ms | > 100ms | > 500ms |
| Active Connections | < 100 | > 150 | > 190 |
| Replication Lag | < 1s | > 5s | > 30s |
""",
    "redis": """
| Memory Usage | < 70% | > 85% | > 95% |
| Hit Rate | > 90% | < 80% | < 60% |
| Evicted Keys | < 100/min | > 1000/min | > 10000/min |
""",
}

SCALE = {"ms": 0.001, "s": 1.0, "%": 0.01, "req/s": 1.0, "/min": 1.0, "": 1.0}


def number(cell: str) -> float:
    match = re.fullmatch(r"([0-9.]+)\s*(ms|s|%|req/s|/min|)", cell.strip())
    assert match, cell
    return float(match.group(1)) * SCALE[match.group(2)]


def comparison(cell: str) -> tuple[str, float]:
    op, value = cell.strip().split(" ", 1)
    return op, number(value)


def runbook_rows() -> list[tuple[str, str, list[str]]]:
    rows = []
    for component, table in RUNBOOK_TABLES.items():
        for line in table.strip().splitlines():
            name, *cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows.append((component, name, cells))
    return rows


def test_every_runbook_row_is_a_threshold_with_the_runbooks_numbers() -> None:
    thresholds = load()
    rows = [(table.component, metric) for table in thresholds.tables for metric in table.metrics]
    assert [(component, metric.name) for component, metric in rows] == [(c, n) for c, n, _ in runbook_rows()]

    for (_, metric), (_, name, (normal, warning, critical)) in zip(rows, runbook_rows(), strict=True):
        warn_op, warn_value = comparison(warning)
        crit_op, crit_value = comparison(critical)
        assert warn_op == crit_op == metric.operator, name
        assert metric.direction is (Direction.ABOVE if warn_op == ">" else Direction.BELOW)
        assert metric.warning == pytest.approx(warn_value), name
        assert metric.critical == pytest.approx(crit_value), name
        if "-" in normal:
            low, high = normal.split("-")
            expected = (number(low + normal[len(normal.rstrip("qersmin/%")):]), number(high))
            assert (metric.normal.above, metric.normal.below) == pytest.approx(expected), name
        else:
            op, value = comparison(normal)
            bound = metric.normal.below if op == "<" else metric.normal.above
            other = metric.normal.above if op == "<" else metric.normal.below
            assert bound == pytest.approx(value) and other is None, name


def test_rows_read_as_the_runbook_writes_them() -> None:
    thresholds = load()
    latency = thresholds.get("application.response_time_p95")
    assert [latency.show(level) for level in (Level.NORMAL, Level.WARNING, Level.CRITICAL)] == \
        ["< 200ms", "> 500ms", "> 1s"]
    assert thresholds.get("application.request_rate").show(Level.NORMAL) == "100–1000 req/s"
    hit_rate = thresholds.get("redis.hit_rate")
    assert [hit_rate.show(level) for level in (Level.NORMAL, Level.WARNING, Level.CRITICAL)] == \
        ["> 90%", "< 80%", "< 60%"]


@pytest.mark.parametrize(("key", "value", "level"), [
    ("application.response_time_p95", 0.15, Level.NORMAL),
    ("application.response_time_p95", 0.3, Level.UNUSUAL),
    ("application.response_time_p95", 0.5, Level.UNUSUAL),  # at the threshold: the rule compares strictly
    ("application.response_time_p95", 0.6, Level.WARNING),
    ("application.response_time_p95", 1.5, Level.CRITICAL),
    ("application.request_rate", 50, Level.UNUSUAL),  # below the normal range, no alert
    ("application.request_rate", 500, Level.NORMAL),
    ("redis.hit_rate", 0.95, Level.NORMAL),
    ("redis.hit_rate", 0.85, Level.UNUSUAL),
    ("redis.hit_rate", 0.7, Level.WARNING),
    ("redis.hit_rate", 0.5, Level.CRITICAL),
    ("database.active_connections", 191, Level.CRITICAL),
])
def test_classify_a_measurement(key: str, value: float, level: Level) -> None:
    assert load().get(key).classify(value) is level


def test_unknown_row_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"redis\.hit_rate"):
        load().get("redis.hitrate")


def shipped() -> dict[str, Any]:
    data = yaml.safe_load(default_path().read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def row(data: dict[str, Any], component: str, metric_id: str) -> dict[str, Any]:
    table = next(t for t in data["tables"] if t["component"] == component)
    found: dict[str, Any] = next(m for m in table["metrics"] if m["id"] == metric_id)
    return found


def edit_hit_rate_critical(data: dict[str, Any]) -> None:
    row(data, "redis", "hit_rate")["critical"] = 0.85  # "below" row: critical must be lower than warning


def edit_latency_critical(data: dict[str, Any]) -> None:
    row(data, "application", "response_time_p95")["critical"] = 0.4


def edit_duplicate_alert(data: dict[str, Any]) -> None:
    row(data, "redis", "memory_usage")["alert"] = "AppHostMemoryHigh"


def edit_unit(data: dict[str, Any]) -> None:
    row(data, "database", "replication_lag")["unit"] = "minutes"


def edit_probe(data: dict[str, Any]) -> None:
    row(data, "redis", "hit_rate")["test"]["series"][0]["rate"] = "__import__('os').getpid()"


def edit_extra_key(data: dict[str, Any]) -> None:
    row(data, "redis", "hit_rate")["treshold"] = 1


def edit_for(data: dict[str, Any]) -> None:
    row(data, "redis", "hit_rate")["for"] = "ten minutes"


def edit_normal(data: dict[str, Any]) -> None:
    row(data, "application", "cpu_usage")["normal"] = {"below": 0.85}


@pytest.mark.parametrize(("edit", "says"), [
    (edit_hit_rate_critical, "tables.2.metrics.1: Value error, hit_rate: critical (0.85) must be further below"),
    (edit_latency_critical, "critical (0.4) must be further above than warning (0.5)"),
    (edit_duplicate_alert, "alert name used more than once: AppHostMemoryHigh"),
    (edit_unit, "tables.1.metrics.3.unit: Input should be 'seconds'"),
    (edit_probe, "only numbers, V, + - * / and parentheses are allowed"),
    (edit_extra_key, "tables.2.metrics.1.treshold: unknown key"),
    (edit_for, "tables.2.metrics.1.for: String should match pattern"),
    (edit_normal, "cpu_usage: the normal range reaches past the warning threshold"),
])
def test_bad_edits_are_refused_with_the_key_and_the_reason(edit: Any, says: str) -> None:
    data = shipped()
    edit(data)
    with pytest.raises(ConfigError) as caught:
        parse(yaml.safe_dump(data), "thresholds.yml")
    assert str(caught.value).startswith("thresholds.yml: ")
    assert says.replace("Value error, ", "") in str(caught.value)


def test_missing_or_broken_file_names_it(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "nope.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("version: 1\ntables: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken.yml: line \d+ is not valid YAML"):
        load(broken)


def test_probe_arithmetic() -> None:
    assert evaluate("(1 - V) * 100", 0.25) == 75
    assert evaluate("V * 200 - 3", 0.5) == 97
    assert evaluate("-V / 2", 4) == -2
    for bad in ("V ** 2", "abs(V)", "W + 1", "V +"):
        with pytest.raises(ValueError):
            evaluate(bad, 1)


@pytest.mark.parametrize(("value", "text"), [
    (0, "0s"), (0.51, "510ms"), (0.000125, "125us"), (1.02, "1.02s"), (29.4, "29.4s"), (90, "1m 30s"),
    (3725, "1h 2m 5s"), (90061, "1d 1h 1m 1s"),
])
def test_humanize_duration_matches_prometheus(value: float, text: str) -> None:
    assert humanize_duration(value) == text


def test_templates_render_as_prometheus_does() -> None:
    assert humanize_percentage(0.0102) == "1.02%"
    assert render_template("{{ $value }}s on {{ $labels.instance }}", 0.6, {"instance": "a:1"}) == "0.6s on a:1"
    assert render_template('{{ printf "%.0f" $value }} req/s', 2040.0000001, {}) == "2040 req/s"
    with pytest.raises(ValueError, match="humanize1024"):
        render_template("{{ $value | humanize1024 }}", 1, {})
