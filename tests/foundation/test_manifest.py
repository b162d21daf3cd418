"""`atl-bot manifest check`: manifest.yml and the registered slash commands must not drift apart."""

from pathlib import Path
from typing import Any

import yaml

from bot.slack.commands import COMMANDS
from tests.harness import run_cli
from tests.harness.process import REPO


def modified_copy(tmp_path: Path, change: Any) -> Path:
    doc = yaml.safe_load((REPO / "manifest.yml").read_text(encoding="utf-8"))
    change(doc)
    path = tmp_path / "manifest.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def commands_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc["features"]["slash_commands"]  # type: ignore[no-any-return]


def test_repository_manifest_matches_the_registered_commands() -> None:
    done = run_cli("manifest", "check")

    assert done.returncode == 0, done.stderr
    declared = yaml.safe_load((REPO / "manifest.yml").read_text(encoding="utf-8"))
    assert sorted(c["command"] for c in commands_of(declared)) == sorted(COMMANDS)
    assert declared["settings"]["interactivity"]["is_enabled"] is True


def test_a_missing_command_fails_the_check(tmp_path: Path) -> None:
    path = modified_copy(tmp_path, lambda doc: commands_of(doc).pop(
        next(i for i, c in enumerate(commands_of(doc)) if c["command"] == "/oncall")))

    done = run_cli("manifest", "check", "--path", str(path))

    assert done.returncode == 1
    assert "/oncall" in done.stderr and "missing from the manifest" in done.stderr


def test_a_changed_description_fails_the_check(tmp_path: Path) -> None:
    def change(doc: dict[str, Any]) -> None:
        next(c for c in commands_of(doc) if c["command"] == "/deploy")["description"] = "Ship it"

    done = run_cli("manifest", "check", "--path", str(modified_copy(tmp_path, change)))

    assert done.returncode == 1
    assert "/deploy" in done.stderr and "Ship it" in done.stderr


def test_an_extra_command_and_interactivity_off_fail_the_check(tmp_path: Path) -> None:
    def change(doc: dict[str, Any]) -> None:
        commands_of(doc).append({"command": "/reboot", "url": "https://x.example/slack/events",
                                 "description": "Reboot", "should_escape": True})
        doc["settings"]["interactivity"]["is_enabled"] = False

    done = run_cli("manifest", "check", "--path", str(modified_copy(tmp_path, change)))

    assert done.returncode == 1
    assert "/reboot" in done.stderr and "interactivity" in done.stderr


def test_a_manifest_without_usergroups_read_fails_the_check(tmp_path: Path) -> None:
    # Roles may name user groups (S…); without the scope their members could deploy nothing.
    def change(doc: dict[str, Any]) -> None:
        doc["oauth_config"]["scopes"]["bot"].remove("usergroups:read")

    done = run_cli("manifest", "check", "--path", str(modified_copy(tmp_path, change)))

    assert done.returncode == 1
    assert "oauth_config.scopes.bot lacks usergroups:read" in done.stderr
