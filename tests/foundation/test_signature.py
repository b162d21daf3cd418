"""Slack's request signing: only requests signed with our secret within five minutes are executed."""

import time

import pytest

from tests.harness import BotUnderTest, MakeBot
from tests.harness.slack_client import signature

FIVE_MINUTES = 5 * 60


async def assert_nothing_executed(bot: BotUnderTest) -> None:
    assert await bot.query("SELECT * FROM audit_log") == []
    assert bot.fake_slack.calls == [] and bot.fake_slack.rejected == [] and bot.fake_slack.responses == []


async def test_signed_command_is_answered(bot: BotUnderTest) -> None:
    result = await bot.slack.command("/incident", "help", user_id="U0ADMIN000", channel_id="C0INCIDENTS")

    assert result.status == 200
    assert result.json is not None
    assert "/incident" in result.json["text"]
    assert result.json["response_type"] == "ephemeral"
    rows = await bot.query("SELECT actor, action, outcome FROM audit_log")
    assert rows == [{"actor": "U0ADMIN000", "action": "/incident", "outcome": "accepted"}]


async def test_unsigned_request_is_refused(bot: BotUnderTest) -> None:
    body = bot.slack.command_body("/incident", "help")

    result = await bot.slack.post_raw(body, sign=False)

    assert result.status == 401
    await assert_nothing_executed(bot)


async def test_request_signed_with_another_secret_is_refused(bot: BotUnderTest) -> None:
    body = bot.slack.command_body("/incident", "help")

    result = await bot.slack.post_raw(body, secret="not-the-signing-secret")

    assert result.status == 401
    await assert_nothing_executed(bot)


@pytest.mark.parametrize(
    ("label", "offset"),
    [("stale", -(FIVE_MINUTES + 30)), ("future", FIVE_MINUTES + 30)],
)
async def test_request_outside_the_five_minute_window_is_refused(bot: BotUnderTest, label: str, offset: int) -> None:
    # Correctly signed, but replayed (stale) or from a clock far ahead (future).
    body = bot.slack.command_body("/incident", "help")

    result = await bot.slack.post_raw(body, timestamp=str(int(time.time()) + offset))

    assert result.status == 401, label
    await assert_nothing_executed(bot)


async def test_request_just_inside_the_window_is_accepted(bot: BotUnderTest) -> None:
    body = bot.slack.command_body("/incident", "help")

    result = await bot.slack.post_raw(body, timestamp=str(int(time.time()) - FIVE_MINUTES + 30))

    assert result.status == 200


async def test_tampered_body_is_refused(bot: BotUnderTest) -> None:
    # Signed for `/incident help`, delivered as `/deploy v9.9.9`: the signature no longer matches.
    timestamp = str(int(time.time()))
    original = bot.slack.command_body("/incident", "help", channel_id="C0INCIDENTS")
    tampered = original.replace("command=%2Fincident", "command=%2Fdeploy").replace("text=help", "text=v9.9.9")
    assert tampered != original

    result = await bot.slack.post_raw(tampered, timestamp=timestamp,
                                      signature=signature(bot.slack.secret, timestamp, original))

    assert result.status == 401
    await assert_nothing_executed(bot)


async def test_malformed_signature_headers_are_refused(bot: BotUnderTest) -> None:
    body = bot.slack.command_body("/incident", "help")

    not_a_number = await bot.slack.post_raw(body, timestamp="yesterday")
    wrong_scheme = await bot.slack.post_raw(body, signature="v1=" + "0" * 64)

    assert (not_a_number.status, wrong_scheme.status) == (401, 401)
    await assert_nothing_executed(bot)


async def test_http_endpoint_executes_nothing_in_socket_mode(make_bot: MakeBot) -> None:
    # In Socket Mode Bolt does not verify signatures, so an HTTP request must not reach a listener at all.
    async with make_bot(env={"SLACK_APP_TOKEN": "xapp-1-A0ATLBOT00-test"}) as bot:
        body = bot.slack.command_body("/incident", "help")

        unsigned = await bot.slack.post_raw(body, sign=False)
        signed = await bot.slack.post_raw(body)

        assert unsigned.status == 404 and signed.status == 404
        await assert_nothing_executed(bot)
