"""`atl-bot rules generate|check`: a warning and a critical rule per threshold row, the runbook's three
alerts as written, committed files kept current."""

import shutil
from pathlib import Path

import yaml
from typer.testing import CliRunner

from bot.cli import cli
from bot.rules import files
from bot.rules.generate import condition
from bot.rules.model import Level
from bot.rules.thresholds import default_path, load

# Copied verbatim from the runbook, "Alert Configuration" → "Prometheus Alerts".
RUNBOOK_ALERTS = """
# /etc/prometheus/alerts/audio-tai-loc.yml
groups:
  - name: audio_tai_loc_alerts
    rules:
      - alert: HighResponseTime
        expr: http_request_duration_seconds{quantile="0.95"} > 0.5
        for: 5m
        labels:
          severity: warning
        annotations:
          summary: "High response time detected"
          description: "95th percentile response time is {{ $value }}s"

      - alert: HighErrorRate
        expr: rate(http_requests_total{status=~"5.."}[5m]) > 0.05
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: "High error rate detected"
          description: "Error rate is {{ $value | humanizePercentage }}"

      - alert: DatabaseConnectionPoolExhausted
        expr: pg_stat_database_numbackends / pg_settings_max_connections > 0.9
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: "Database connection pool nearly exhausted"
          description: "{{ $value | humanizePercentage }} of connections used"
"""

runner = CliRunner()


def committed_rules() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(files.default_rules_path().read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_committed_rules_and_tests_are_current() -> None:
    stale = files.stale(load(), files.Outputs.at())
    assert stale == [], f"{stale} out of date with runbooks/thresholds.yml: run `atl-bot rules generate`"


def test_the_runbooks_three_alerts_are_in_the_rules_file_exactly_as_written() -> None:
    runbook_group = yaml.safe_load(RUNBOOK_ALERTS)["groups"][0]
    groups = {group["name"]: group for group in committed_rules()["groups"]}
    assert groups["audio_tai_loc_alerts"] == runbook_group


def test_a_warning_and_a_critical_rule_per_row() -> None:
    thresholds = load()
    groups = committed_rules()["groups"]
    by_threshold: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for group in groups:
        for rule in group["rules"]:
            if "threshold" in rule["labels"]:
                by_threshold.setdefault(rule["labels"]["threshold"], []).append(rule)
    assert list(by_threshold) == [key for key, _ in thresholds.items()]
    for key, metric in thresholds.items():
        warning, critical = by_threshold[key]
        assert (warning["labels"]["severity"], critical["labels"]["severity"]) == ("warning", "critical")
        assert warning["alert"] == critical["alert"] == metric.alert
        assert warning["for"] == critical["for"] == metric.for_
        assert warning["expr"] == condition(metric, Level.WARNING)
        assert warning["expr"].endswith(f" {metric.operator} {metric.warning:g}")
        assert critical["expr"].endswith(f" {metric.operator} {metric.critical:g}")
        assert metric.expr in warning["expr"]
    hit_rate = by_threshold["redis.hit_rate"]
    assert hit_rate[0]["expr"].endswith(" < 0.8") and hit_rate[1]["expr"].endswith(" < 0.6")
    assert hit_rate[0]["annotations"]["summary"] == "Redis Hit Rate below 80%"
    assert [g["name"] for g in groups] == ["atl_thresholds_application", "atl_thresholds_database",
                                           "atl_thresholds_redis", "audio_tai_loc_alerts"]


def test_loose_operators_in_an_expression_are_kept_together() -> None:
    metric = load().get("redis.evicted_keys").model_copy(
        update={"expr": "rate(a_total[5m]) * 60 or rate(b_total[5m]) * 60"})
    assert condition(metric, Level.WARNING) == "(rate(a_total[5m]) * 60 or rate(b_total[5m]) * 60) > 1000"
    plain = load().get("application.error_rate")
    assert condition(plain, Level.CRITICAL).startswith("sum by (job)")  # =~ in a matcher is no comparison


def test_generate_writes_both_files_and_check_follows_the_thresholds(tmp_path: Path) -> None:
    thresholds = tmp_path / "thresholds.yml"
    shutil.copy(default_path(), thresholds)
    out = tmp_path / "prom" / "rules.yml"
    args = ["--thresholds", str(thresholds), "--out", str(out)]

    assert runner.invoke(cli, ["rules", "check", *args]).exit_code == 1  # nothing generated yet
    generated = runner.invoke(cli, ["rules", "generate", *args])
    assert generated.exit_code == 0, generated.output
    tests_file = tmp_path / "prom" / "tests" / "rules.test.yml"
    assert out.read_text(encoding="utf-8") == files.default_rules_path().read_text(encoding="utf-8")
    assert yaml.safe_load(tests_file.read_text(encoding="utf-8"))["rule_files"] == ["../rules.yml"]
    assert runner.invoke(cli, ["rules", "check", *args]).exit_code == 0

    thresholds.write_text(thresholds.read_text(encoding="utf-8").replace("warning: 150", "warning: 160"),
                          encoding="utf-8")
    stale = runner.invoke(cli, ["rules", "check", *args])
    assert stale.exit_code == 1
    assert f"{out}: stale" in stale.output and "atl-bot rules generate" in stale.output

    assert runner.invoke(cli, ["rules", "generate", *args]).exit_code == 0
    assert "> 160\n" in out.read_text(encoding="utf-8")
    assert runner.invoke(cli, ["rules", "check", *args]).exit_code == 0


def test_bad_thresholds_stop_generation_with_one_line(tmp_path: Path) -> None:
    thresholds = tmp_path / "thresholds.yml"
    thresholds.write_text(default_path().read_text(encoding="utf-8").replace("direction: below", "direction: under"),
                          encoding="utf-8")
    out = tmp_path / "rules.yml"
    result = runner.invoke(cli, ["rules", "generate", "--thresholds", str(thresholds), "--out", str(out)])
    assert result.exit_code == 2
    assert "thresholds error" in result.output and "tables.2.metrics.1.direction" in result.output
    assert not out.exists()

