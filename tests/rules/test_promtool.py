"""The committed rules pass `promtool check rules`, and `promtool test rules` proves every rule fires past
its threshold and stays quiet short of it — tests that fail when a rule and its threshold disagree."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.rules import files
from bot.rules.generate import render_rules
from bot.rules.thresholds import default_path, load, parse


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary, "promtool is not installed (Debian: apt-get install prometheus)"
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False)


def test_promtool_check_rules() -> None:
    result = promtool("check", "rules", str(files.default_rules_path()))
    assert result.returncode == 0, result.stdout + result.stderr
    expected = 2 * len(list(load().items())) + len(load().runbook_alerts.rules)
    assert f"SUCCESS: {expected} rules found" in result.stdout


def test_promtool_unit_tests_pass() -> None:
    tests = files.tests_path_for(files.default_rules_path())
    result = promtool("test", "rules", tests.name, cwd=tests.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_rule_is_tested_firing_and_quiet() -> None:
    rules = yaml.safe_load(files.default_rules_path().read_text(encoding="utf-8"))
    tests = yaml.safe_load(files.tests_path_for(files.default_rules_path()).read_text(encoding="utf-8"))
    firing: set[tuple[str, str]] = set()
    quiet: set[tuple[str, str]] = set()
    severities: dict[str, set[str]] = {}
    for group in rules["groups"]:
        for rule in group["rules"]:
            severities.setdefault(rule["alert"], set()).add(rule["labels"]["severity"])
    for case in tests["tests"]:
        final = max(case["alert_rule_test"], key=lambda check: int(check["eval_time"].rstrip("m")))
        fired = {alert["exp_labels"]["severity"] for alert in final["exp_alerts"]}
        for severity in severities[final["alertname"]]:
            (firing if severity in fired else quiet).add((final["alertname"], severity))
    every = {(alert, severity) for alert, levels in severities.items() for severity in levels}
    assert firing == every
    assert quiet == every


@pytest.mark.parametrize(("key", "moved", "failing_case"), [
    # Threshold lowered in the rules only: the rule now fires where the tests expect quiet.
    ("application.response_time_p95", ("warning: 0.5", "warning: 0.45"), "short of warning"),
    # A "below" row loosened: the rule stays quiet where the tests expect it to fire.
    ("redis.hit_rate", ("critical: 0.6", "critical: 0.5"), "past critical"),
])
def test_unit_tests_catch_a_rule_that_disagrees_with_its_threshold(
        tmp_path: Path, key: str, moved: tuple[str, str], failing_case: str) -> None:
    shipped = files.default_rules_path().parent
    tests = files.tests_path_for(files.default_rules_path())
    (tmp_path / "tests").mkdir()
    shutil.copy(tests, tmp_path / "tests" / tests.name)
    text = default_path().read_text(encoding="utf-8")
    section = text.index(f"id: {key.split('.')[1]}", text.index(f"component: {key.split('.')[0]}"))
    end = text.index("test:", section)
    old, new = moved
    assert old in text[section:end]
    edited = text[:section] + text[section:end].replace(old, new) + text[end:]
    (tmp_path / "atl-rules.yml").write_text(render_rules(parse(edited)), encoding="utf-8")
    assert (shipped / "atl-rules.yml").read_text(encoding="utf-8") != (tmp_path / "atl-rules.yml").read_text(
        encoding="utf-8")

    result = promtool("test", "rules", tests.name, cwd=tmp_path / "tests")

    assert result.returncode == 1
    assert f"({key}) {failing_case}" in result.stdout + result.stderr
