"""The six slash commands: `help` describes only what this build can run; bad input is refused with what
was wrong and the correct form, is audited, and runs nothing."""

from dataclasses import dataclass

import pytest

from bot.slack.commands import COMMANDS, CommandSpec
from tests.harness import BotUnderTest


def listed(spec: CommandSpec, text: str) -> list[str]:
    """Which of the command's subcommands the help text offers."""
    return [sub.usage for sub in spec.subcommands if f"`{f'{spec.name} {sub.usage}'.strip()}`" in text]


@pytest.mark.parametrize("name", sorted(COMMANDS))
async def test_help_lists_only_what_can_run(bot: BotUnderTest, name: str) -> None:
    spec = COMMANDS[name]

    result = await bot.slack.command(name, "help", user_id="U0DEPLOYER", channel_id="C0DEPLOYS0")

    assert result.status == 200 and result.json is not None
    text = result.json["text"]
    assert result.json["response_type"] == "ephemeral"
    assert name in text and spec.description in text
    executable = [sub.usage for sub in spec.subcommands if sub.request in spec.executors]
    assert listed(spec, text) == executable
    if not executable:
        assert "not enabled" in text
    rows = await bot.query("SELECT actor, action, detail, channel, outcome FROM audit_log")
    assert rows == [{"actor": "U0DEPLOYER", "action": name, "detail": "help", "channel": "C0DEPLOYS0",
                     "outcome": "accepted"}]
    # help is answered in the acknowledgement; nothing is sent to Slack's Web API.
    assert bot.fake_slack.calls == []


@dataclass(frozen=True)
class Bad:
    command: str
    text: str
    names: str  # what the error must name


BAD_INPUT = [
    Bad("/deploy", "", "version"),
    Bad("/deploy", "latest", "`latest`"),
    Bad("/deploy", "v1.0.0 --fast", "`--fast`"),
    Bad("/deploy", "v1.0.0 staging extra", "`extra`"),
    Bad("/deploy", "v1.0.0 Prod!", "`Prod!`"),
    Bad("/rollback", "full", "version"),
    Bad("/rollback", "full 0.9", "`0.9`"),
    Bad("/rollback", "db --to yesterday", "`yesterday`"),
    Bad("/rollback", "--now", "`--now`"),
    Bad("/incident", "", "subcommand"),
    Bad("/incident", "explode", "`explode`"),
    Bad("/incident", "sev P9", "`P9`"),
    Bad("/incident", "commander bob", "`bob`"),
    Bad("/incident", "note", "note text"),
    Bad("/incident", "ack now", "`now`"),
    Bad("/health", "disk", "`disk`"),
    Bad("/health", "db redis", "db redis"),
    Bad("/maint", "", "task"),
    Bad("/maint", "defrag", "`defrag`"),
    Bad("/oncall", "everyone", "`everyone`"),
]


@pytest.mark.parametrize("bad", BAD_INPUT, ids=lambda b: f"{b.command} {b.text!r}")
async def test_bad_input_is_refused_with_the_correct_form(bot: BotUnderTest, bad: Bad) -> None:
    result = await bot.slack.command(bad.command, bad.text, user_id="U0TESTUSER", channel_id="C0GENERAL0")

    assert result.status == 200 and result.json is not None
    reply = result.json
    assert reply["response_type"] == "ephemeral"
    assert bad.names.lower() in reply["text"].lower()
    assert "Correct form" in reply["text"]
    assert bad.command in reply["text"].split("Correct form", 1)[1]
    shown = " ".join(str(block) for block in reply["blocks"])
    assert bad.names.lower() in shown.lower() and "Correct form" in shown
    rows = await bot.query("SELECT actor, action, detail, channel, outcome, reason FROM audit_log")
    assert len(rows) == 1
    row = rows[0]
    assert (row["actor"], row["action"], row["detail"], row["channel"], row["outcome"]) == (
        "U0TESTUSER", bad.command, bad.text, "C0GENERAL0", "refused")
    assert bad.names.lower() in row["reason"].lower()
    assert bot.fake_slack.calls == [] and bot.fake_slack.responses == []


EXAMPLES = {
    "/deploy": ["v1.0.0", "v1.0.0 staging", "v1.0.0 --pm2", "plan v1.0.0"],
    "/rollback": ["", "db", "db --to 20240101120000-migration-name", "full v0.9.0"],
    "/incident": ["declare P2 checkout failing", "sev P1", "ack", "commander <@U0ADMIN000>", "note db is slow",
                  "status", "timeline", "resolve fixed by restart"],
    "/health": ["", "db", "redis", "metrics", "logs"],
    "/maint": ["vacuum", "reindex", "backup-verify", "redis-doctor", "redis-lastsave", "redis-config-backup",
               "cert-check"],
    "/oncall": [""],
}


async def test_every_command_accepts_the_runbook_examples() -> None:
    # DESIGN's examples must parse; a usage the parser rejects would teach people a form that cannot work.
    assert EXAMPLES.keys() == COMMANDS.keys()
    for name, texts in EXAMPLES.items():
        for text in texts:
            request = COMMANDS[name].parse(text)
            assert type(request).__name__ != "Help", (name, text)


async def test_valid_command_that_cannot_run_yet_runs_nothing(bot: BotUnderTest) -> None:
    # Checked against the registry as built (capabilities installed): every valid example whose request has
    # no executor must be refused as "not enabled", audited, and run nothing.
    waiting = [(name, text) for name, texts in EXAMPLES.items() for text in texts
               if COMMANDS[name].executor_for(COMMANDS[name].parse(text)) is None]

    for name, text in waiting:
        result = await bot.slack.command(name, text, user_id="U0ADMIN000", channel_id="C0INCIDENTS")

        assert result.status == 200 and result.json is not None
        assert result.json["response_type"] == "ephemeral"
        assert "not enabled" in result.json["text"] and "Nothing was run" in result.json["text"]

    rows = await bot.query("SELECT action, detail, outcome, reason FROM audit_log ORDER BY id")
    assert [(r["action"], r["detail"], r["outcome"]) for r in rows] == [(n, t, "refused") for n, t in waiting]
    assert all("not enabled" in r["reason"] for r in rows)
    assert bot.fake_slack.calls == [] and bot.fake_slack.responses == []
