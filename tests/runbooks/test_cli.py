"""`atl-bot runbooks list|validate|plan`: exit codes and output, with the example configuration."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import cli
from bot.paths import runbooks_dir

EXAMPLE = str(runbooks_dir() / "atl-bot.example.yml")


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    # A laptop: the example config, nothing else; wide enough that rich does not wrap the table cells.
    monkeypatch.setenv("ATL_CONFIG", EXAMPLE)
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, ["runbooks", *args])

    return invoke


def test_validate_passes_for_the_shipped_runbooks(run) -> None:  # type: ignore[no-untyped-def]
    result = run("validate")
    assert result.exit_code == 0, result.output
    assert "12 runbook(s) valid against" in result.stdout
    assert "environments: production, staging" in result.stdout


def test_validate_fails_naming_file_line_step_and_reason(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "runbooks"
    broken.mkdir()
    (broken / "maint-demo.yml").write_text(
        "id: maint-demo\ntitle: Demo\nrole: admin\nsteps:\n"
        "  - id: one\n    name: One\n    handler: shell.rn\n    params: {argv: [true]}\n",
        encoding="utf-8",
    )
    result = run("validate", "--dir", str(broken))
    assert result.exit_code == 1
    assert "runbooks/maint-demo.yml:7: step one: unknown handler 'shell.rn' (did you mean shell.run?)" in result.stderr
    assert "1 problem(s) in 1 file(s)" in result.stderr


def test_planning_an_invalid_runbook_shows_why_and_exits_1(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "runbooks"
    broken.mkdir()
    (broken / "maint-demo.yml").write_text("id: maint-demo\ntitle: Demo\nrole: admin\nsteps: []\n", encoding="utf-8")
    result = run("plan", "maint-demo", "--dir", str(broken))
    assert result.exit_code == 1
    assert "runbooks/maint-demo.yml:4: steps: List should have at least 1 item" in result.stderr
    assert "runbook maint-demo is invalid; nothing planned" in result.stderr


def test_list_shows_every_runbook(run) -> None:  # type: ignore[no-untyped-def]
    result = run("list")
    assert result.exit_code == 0, result.output
    for runbook in ("deploy-blue-green", "deploy-pm2", "rollback-immediate", "rollback-database", "rollback-full"):
        assert runbook in result.stdout


def test_plan_prints_every_step_with_params_and_marks_the_dangerous_switch(run) -> None:  # type: ignore[no-untyped-def]
    result = run("plan", "deploy-blue-green", "--var", "version=v1.0.0")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Blue-green deployment (deploy-blue-green) in production" in out
    assert "⚠ 13" in out and "⚠ 17" in out  # the switch and the cleanup
    assert "DANGEROUS: waits for confirmation" in out
    assert "confirm: Switch production traffic from" in out
    assert "tag: audio-tai-loc-backend:v1.0.0" in out
    assert "servers: [127.0.0.1:<from step live: 3002 or 3001>]" in out
    assert "follow-up: 24h after the previous step" in out
    assert "Nothing has run. 2 dangerous step(s) will pause for confirmation (expires after 15m)." in out


def test_plan_as_json_for_staging(run) -> None:  # type: ignore[no-untyped-def]
    result = run("plan", "deploy-blue-green", "--var", "version=v1.0.0", "--env", "staging", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["environment"] == "staging" and plan["two_person_rule"] is False
    assert len(plan["steps"]) == 19


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("deploy-blue-green", "--var", "version=v1.0"), "refused: version: 'v1.0' does not match"),
        (("deploy-blue-green",), "refused: version is required"),
        (("deploy-blue-green", "--var", "version"), "--var expects NAME=VALUE"),
        (("deploy-blue-green", "--var", "version=v1.0.0", "--env", "moon"), "'moon' is not configured"),
        (("rollback-database", "--var", "to=yesterday"), "refused: to: 'yesterday' does not match"),
        (("deploy-purple", "--var", "version=v1.0.0"), "no runbook 'deploy-purple'"),
    ],
)
def test_plan_refuses_bad_input_with_exit_2(run, args: tuple[str, ...], message: str) -> None:  # type: ignore[no-untyped-def]
    result = run("plan", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_a_bad_configuration_is_exit_2_naming_the_key(run, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "bad.yml"
    config.write_text(Path(EXAMPLE).read_text(encoding="utf-8").replace("port: 3002", "port: lots"), encoding="utf-8")
    monkeypatch.setenv("ATL_CONFIG", str(config))
    result = run("validate")
    assert result.exit_code == 2
    assert "environments.production.colours.blue.port" in result.stderr
