"""Severity routing as data: decisions, the shipped file, and errors that name file, line and reason."""

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot.alerts.routing import RoutingRules, load_routing
from bot.config import load_config
from bot.config.alerts import default_routing_file
from bot.errors import ConfigError
from bot.incidents.severity import Severity
from tests.harness import DEFAULT_CONFIG, run_cli


def rules(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alert-routing.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_routing_file_gives_the_issue_defaults() -> None:
    routing = load_routing(default_routing_file())
    assert routing.severity_for({"alertname": "HighErrorRate", "severity": "critical"}) is Severity.P2
    assert routing.severity_for({"alertname": "HighResponseTime", "severity": "warning"}) is Severity.P3
    assert routing.severity_for({"alertname": "Whatever", "severity": "info"}) is Severity.P4
    assert routing.severity_for({"alertname": "NoSeverityLabel"}) is Severity.P4


def test_priority_label_overrides_everything() -> None:
    routing = load_routing(default_routing_file())
    assert routing.severity_for({"severity": "warning", "priority": "P1"}) is Severity.P1
    assert routing.severity_for({"severity": "critical", "priority": "p4"}) is Severity.P4
    assert routing.severity_for({"severity": "critical", "priority": "urgent"}) is Severity.P2  # not a severity


def test_rules_in_order_first_match_wins(tmp_path: Path) -> None:
    routing = load_routing(rules(tmp_path, """
rules:
  - name: production API down is an outage
    match: {alertname: ApiDown}
    match_re: {env: "prod|production"}
    severity: P1
  - match: {alertname: ApiDown}
    severity: P3
  - match_re: {job: "postgres.*"}
    severity: P2
default: P3
"""))
    assert routing.severity_for({"alertname": "ApiDown", "env": "production"}) is Severity.P1
    assert routing.severity_for({"alertname": "ApiDown", "env": "prod-eu"}) is Severity.P3  # regex is anchored
    assert routing.severity_for({"alertname": "ApiDown", "env": "staging", "severity": "critical"}) is Severity.P3
    assert routing.severity_for({"job": "postgres-replica"}) is Severity.P2
    # No rule matched: built-in severity defaults, then the file's default.
    assert routing.severity_for({"job": "redis", "severity": "warning"}) is Severity.P3
    assert routing.severity_for({"job": "redis", "severity": "critical"}) is Severity.P2
    assert routing.severity_for({"job": "redis"}) is Severity.P3


def test_an_empty_file_means_the_defaults(tmp_path: Path) -> None:
    assert load_routing(rules(tmp_path, "# nothing yet\n")) == RoutingRules()


@pytest.mark.parametrize(("text", "expected"), [
    ("rules:\n  - match: {severity: critical}\n    severity: P5\n",
     "line 3: rules[0].severity: 'P5' is not a severity (expected P1, P2, P3 or P4)"),
    ("rules:\n  - match: {severity: critical}\n    severity: P2\n  - match: {a: b}\n    sevrity: P1\n",
     "line 5: rules[1].sevrity: unknown key"),
    ("rules:\n  - name: no matcher\n    severity: P2\n",
     "line 2: rules[0]: a rule needs `match` (label: value) or `match_re` (label: regex)"),
    ("rules:\n  - match_re: {job: '(unclosed'}\n    severity: P2\n", "line 2: rules[0].match_re.job"),
    ("rules:\n  - match: {'bad-label': x}\n    severity: P2\n", "'bad-label' is not a Prometheus label name"),
    ("default: P0\n", "line 1: default: 'P0' is not a severity"),
    ("rules: [\n", "not valid YAML"),
    ("- just\n- a list\n", "line 1: expected a mapping"),
])
def test_invalid_routing_files_name_file_line_and_reason(tmp_path: Path, text: str, expected: str) -> None:
    path = rules(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_routing(path)
    assert str(caught.value).startswith(str(path)), caught.value
    assert expected in str(caught.value), caught.value


def config_file(tmp_path: Path, alerts: dict[str, object]) -> Path:
    path = tmp_path / "atl-bot.yml"
    path.write_text(yaml.safe_dump({**DEFAULT_CONFIG, "alerts": alerts}), encoding="utf-8")
    return path


def test_alerts_section_is_optional_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "atl-bot.yml"
    path.write_text(yaml.safe_dump(DEFAULT_CONFIG), encoding="utf-8")
    alerts = load_config(path).alerts
    assert alerts.reopen_window == timedelta(hours=1) and alerts.silence_duration == timedelta(hours=1)
    assert alerts.basic_auth == {} and alerts.alertmanager_url is None
    assert alerts.routing.severity_for({"severity": "critical"}) is Severity.P2


def test_alerts_section_values(tmp_path: Path) -> None:
    alerts = load_config(config_file(tmp_path, {"reopen_window": "1h30m", "silence_duration": 600,
                                                "alertmanager_url": "http://127.0.0.1:9093"})).alerts
    assert alerts.reopen_window == timedelta(minutes=90) and alerts.silence_duration == timedelta(minutes=10)
    assert str(alerts.alertmanager_url) == "http://127.0.0.1:9093/"


@pytest.mark.parametrize(("alerts", "expected"), [
    ({"reopen_window": "soon"}, "alerts.reopen_window: 'soon' is not a duration"),
    ({"reopen_windw": "1h"}, "alerts.reopen_windw: unknown key"),
    ({"routing_file": "/nonexistent/alert-routing.yml"}, "/nonexistent/alert-routing.yml: cannot read"),
])
def test_bad_alerts_config_is_refused(tmp_path: Path, alerts: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(config_file(tmp_path, alerts))
    assert expected in str(caught.value)


def test_serve_refuses_to_start_with_an_invalid_routing_file(tmp_path: Path) -> None:
    bad = rules(tmp_path, "rules:\n  - match: {severity: critical}\n    severity: P9\n")
    config = config_file(tmp_path, {"routing_file": str(bad)})
    done = run_cli("serve", "--port", "9", env={
        "ATL_CONFIG": str(config), "SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s",
        "ATL_DATA_DIR": str(tmp_path / "data")})
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"{bad} line 3: rules[0].severity: 'P9' is not a severity" in lines[0]
