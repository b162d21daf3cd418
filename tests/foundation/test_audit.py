"""Every command received is in the audit table: who, what, where, accepted or refused, and why."""

import aiohttp

from tests.harness import BotUnderTest, MakeBot


async def test_accepted_and_refused_commands_are_audited(bot: BotUnderTest) -> None:
    await bot.slack.command("/health", "help", user_id="U0DEPLOYER", channel_id="C0DEPLOYS0")
    await bot.slack.command("/deploy", "v1.0.0 --fast", user_id="U0APPROVER", channel_id="C0INCIDENTS")

    rows = await bot.query(
        "SELECT actor, kind, action, detail, channel, outcome, reason, request_id, at FROM audit_log ORDER BY id")

    assert [(r["actor"], r["kind"], r["action"], r["detail"], r["channel"], r["outcome"]) for r in rows] == [
        ("U0DEPLOYER", "command", "/health", "help", "C0DEPLOYS0", "accepted"),
        ("U0APPROVER", "command", "/deploy", "v1.0.0 --fast", "C0INCIDENTS", "refused"),
    ]
    assert "--fast" in rows[1]["reason"]
    # Each row carries the request id that the JSON log lines of the same request carry.
    assert rows[0]["request_id"] and rows[1]["request_id"] and rows[0]["request_id"] != rows[1]["request_id"]
    assert rows[0]["at"] <= rows[1]["at"]


async def test_request_id_from_the_proxy_is_kept(bot: BotUnderTest) -> None:
    body = bot.slack.command_body("/oncall", "help", user_id="U0ADMIN000")

    async with aiohttp.ClientSession() as session, session.post(
        bot.slack.url, data=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Request-Id": "req-from-nginx",
                 **bot.slack.sign(body)},
    ) as resp:
        assert resp.status == 200

    rows = await bot.query("SELECT actor, request_id FROM audit_log")
    assert rows == [{"actor": "U0ADMIN000", "request_id": "req-from-nginx"}]


async def test_audit_survives_a_restart(make_bot: MakeBot) -> None:
    async with make_bot() as first:
        await first.slack.command("/incident", "help", user_id="U0ADMIN000")

    async with make_bot() as second:
        rows = await second.query("SELECT actor, action FROM audit_log")

    assert rows == [{"actor": "U0ADMIN000", "action": "/incident"}]


async def test_a_button_nobody_listens_for_is_audited_as_refused(bot: BotUnderTest) -> None:
    result = await bot.slack.block_action("no_such_button", "v", user_id="U0APPROVER", channel_id="C0DEPLOYS0")

    assert result.status == 404
    rows = await bot.query("SELECT actor, kind, action, channel, outcome, reason FROM audit_log")
    assert rows == [{"actor": "U0APPROVER", "kind": "action", "action": "no_such_button", "channel": "C0DEPLOYS0",
                     "outcome": "refused", "reason": "no listener for this interaction"}]
    assert bot.fake_slack.calls_to("chat.postMessage") == []
