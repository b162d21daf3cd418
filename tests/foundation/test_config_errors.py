"""Bad or missing configuration stops `atl-bot serve` with exit code 2 and one line naming what is wrong."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.harness import run_cli, write_config

EXIT_CONFIG = 2


@dataclass(frozen=True)
class Case:
    id: str
    names: tuple[str, ...]  # what the one line must mention
    env: dict[str, str | None] = field(default_factory=dict)
    config: dict[str, Any] | None = None
    raw_config: str | None = None


CASES = [
    Case("missing bot token", ("SLACK_BOT_TOKEN", "xoxb-"), env={"SLACK_BOT_TOKEN": None}),
    Case("bot token without xoxb-", ("SLACK_BOT_TOKEN", "xoxb-"), env={"SLACK_BOT_TOKEN": "xoxp-user-token"}),
    Case("missing signing secret", ("SLACK_SIGNING_SECRET",), env={"SLACK_SIGNING_SECRET": None}),
    Case("app token without xapp-", ("SLACK_APP_TOKEN", "xapp-"), env={"SLACK_APP_TOKEN": "xoxb-wrong-kind"}),
    Case("bad SLACK_API_URL", ("SLACK_API_URL",), env={"SLACK_API_URL": "not a url"}),
    Case("missing channels.incidents", ("channels.incidents", "missing"), config={"channels": {"incidents": None}}),
    Case("bad timezone", ("timezone", "Mars/Olympus_Mons"), config={"timezone": "Mars/Olympus_Mons"}),
    Case("bad channel id", ("channels.alerts", "#alerts"), config={"channels": {"alerts": "#alerts"}}),
    Case("bad role member", ("roles.approver", "alice"), config={"roles": {"approver": ["alice"]}}),
    Case("unknown key", ("chanels", "unknown key"), config={"chanels": {"incidents": "C0INCIDENTS"}}),
    Case("not YAML", ("YAML",), raw_config="timezone: [unclosed\n"),
    Case("half a status page", ("STATUSPAGE_PAGE_ID",), env={"STATUSPAGE_API_KEY": "key-without-a-page"}),
    Case("nonexistent ATL_CONFIG", ("ATL_CONFIG", "does-not-exist.yml"),
         env={"ATL_CONFIG": "/nonexistent/does-not-exist.yml"}),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_serve_refuses_bad_configuration(case: Case, tmp_path: Path) -> None:
    config_path = tmp_path / "atl-bot.yml"
    if case.raw_config is not None:
        config_path.write_text(case.raw_config, encoding="utf-8")
    else:
        write_config(config_path, case.config)
    env: dict[str, str | None] = {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": "test-signing-secret",
        "ATL_CONFIG": str(config_path),
        # Never reached: configuration is checked before any storage is touched.
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
        "REDIS_URL": "redis://127.0.0.1:9/0",
        "ATL_DATA_DIR": str(tmp_path / "data"),
        **case.env,
    }

    done = run_cli("serve", "--port", "9", env=env, timeout=60)

    assert done.returncode == EXIT_CONFIG, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    for name in case.names:
        assert name in lines[0], (name, lines[0])
    assert not (tmp_path / "data").exists()  # nothing was started


def test_secrets_are_not_echoed_in_configuration_errors(tmp_path: Path) -> None:
    done = run_cli("serve", env={"SLACK_BOT_TOKEN": "xoxp-very-secret-value", "SLACK_SIGNING_SECRET": "s3cr3t",
                                 "ATL_CONFIG": str(write_config(tmp_path / "atl-bot.yml"))})

    assert done.returncode == EXIT_CONFIG
    assert "SLACK_BOT_TOKEN" in done.stderr
    assert "very-secret" not in done.stderr + done.stdout and "s3cr3t" not in done.stderr + done.stdout


def test_example_configuration_is_valid(tmp_path: Path) -> None:
    # With no ATL_CONFIG and no ./atl-bot.yml, serve falls back to the shipped example; it must validate.
    from bot.config import load_config
    from bot.paths import runbooks_dir

    config = load_config(runbooks_dir() / "atl-bot.example.yml")

    assert config.timezone == "Asia/Ho_Chi_Minh" and config.channels.incidents
