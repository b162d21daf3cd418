"""/oncall through Slack: a signed slash command answers, privately, who is reachable now and why."""

from typing import TYPE_CHECKING, Any

from bot.slack.commands import COMMANDS
from tests.harness import BotUnderTest

if TYPE_CHECKING:
    from tests.conftest import MakeBot

# Reachability of these two does not depend on when the test runs; Jane's does, so only her reason's
# kind is checked.
ESCALATION: dict[str, Any] = {
    "matrix": [
        {"role": "Lead DevOps", "name": "John Doe", "slack_id": "U0JOHNDOE0", "availability": "24/7"},
        {"role": "Backend Lead", "name": "Jane Smith", "slack_id": "U0JANESMTH", "availability": "business-hours"},
        {"role": "Database Admin", "name": "Bob Wilson", "slack_id": "U0BOBWILSN", "availability": "on-call"},
    ],
}


async def test_oncall_names_who_is_reachable_and_why(make_bot: "MakeBot") -> None:
    async with make_bot(config={"escalation": ESCALATION}) as bot:
        response_url = bot.fake_slack.response_url("oncall")

        result = await bot.slack.command("/oncall", "", user_id="U0DEPLOYER", channel_id="C0INCIDENTS",
                                         response_url=response_url)

        assert result.status == 200
        (reply,) = await bot.fake_slack.wait_for_responses(1)
        assert reply["response_type"] == "ephemeral"
        text = reply["text"]
        assert text.startswith("Reachable now (")
        assert "John Doe (24/7)" in text
        assert "Bob Wilson (on-call (no rotation configured" in text
        assert "Jane Smith (business hours (" in text or "Jane Smith (outside business hours (" in text
        shown = "\n".join(block["text"]["text"] for block in reply["blocks"] if block["type"] == "section")
        assert "1. *John Doe* <@U0JOHNDOE0> — Lead DevOps · _24/7_" in shown
        assert bot.fake_slack.calls == []  # answered on the response URL only, nothing posted to a channel
        rows = await bot.query("SELECT actor, action, outcome FROM audit_log")
        assert rows == [{"actor": "U0DEPLOYER", "action": "/oncall", "outcome": "accepted"}]


async def test_without_a_matrix_oncall_says_how_to_configure_one(bot: BotUnderTest) -> None:
    await bot.slack.command("/oncall", "", response_url=bot.fake_slack.response_url("empty"))

    (reply,) = await bot.fake_slack.wait_for_responses(1)
    assert "No escalation matrix is configured: add `escalation.matrix`" in reply["text"]


async def test_oncall_help_lists_the_command(bot: BotUnderTest) -> None:
    result = await bot.slack.command("/oncall", "help")

    assert result.status == 200 and result.json is not None
    assert result.json["response_type"] == "ephemeral"
    assert "• `/oncall` — who is reachable now" in result.json["text"]
    assert "not enabled" not in result.json["text"]
    assert COMMANDS["/oncall"].subcommands[0].summary == "who is reachable now"


async def test_oncall_with_arguments_is_refused_and_runs_nothing(bot: BotUnderTest) -> None:
    result = await bot.slack.command("/oncall", "extra", response_url=bot.fake_slack.response_url("bad"))

    assert result.status == 200 and result.json is not None
    assert result.json["response_type"] == "ephemeral"
    assert "`/oncall` takes no arguments, got `extra`." in result.json["text"]
    assert "Correct form: /oncall" in result.json["text"]
    assert bot.fake_slack.responses == [] and bot.fake_slack.calls == []
