"""The header's buttons: Acknowledge, Set severity, Silence (a real Alertmanager silence). All audited."""

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from tests.alerts.stack import standalone_alertmanager
from tests.alerts.support import (
    block_text,
    click_done,
    headers_posted,
    post_alert,
    recorded,
    replies_posted,
    settle,
)
from tests.harness import BotUnderTest, free_port

ALERTS = "C0ALERTS00"
INCIDENTS = "C0INCIDENTS"
ONCALL = "U0ONCALL01"


async def open_incident(bot: BotUnderTest, payload: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict]:  # type: ignore[type-arg]
    assert (await post_alert(bot, payload or recorded("highresponsetime_firing"))).status == 200
    await settle(bot)
    [incident] = await bot.query("SELECT * FROM incidents")
    return incident, bot.fake_slack.messages[(incident["channel"], incident["thread_ts"])]


async def audit(bot: BotUnderTest, action: str) -> list[tuple[str, str, str | None]]:
    rows = await bot.query("SELECT actor, outcome, reason FROM audit_log WHERE action = %s ORDER BY id", action)
    return [(r["actor"], r["outcome"], r["reason"]) for r in rows]


async def test_acknowledge_records_who_and_edits_the_header(bot: BotUnderTest) -> None:
    incident, message = await open_incident(bot)
    result = await bot.slack.block_action("incident_ack", user_id=ONCALL, message=message)
    assert result.status == 200
    await click_done(bot, "incident_ack", 1)
    [row] = await bot.query("SELECT acknowledged_by, acknowledged_at FROM incidents")
    assert row["acknowledged_by"] == ONCALL and row["acknowledged_at"] is not None
    header = bot.fake_slack.messages[(ALERTS, incident["thread_ts"])]
    assert f"*Acknowledged:* <@{ONCALL}>" in block_text(header)
    assert "incident_ack" not in str(header["blocks"])  # the button goes once someone has it
    [reply] = replies_posted(bot)
    assert "Acknowledged" in reply["text"] and f"<@{ONCALL}>" in block_text(reply)
    events = await bot.query("SELECT kind, actor FROM timeline_events WHERE kind = 'acknowledged'")
    assert [(e["kind"], e["actor"]) for e in events] == [("acknowledged", ONCALL)]
    assert await audit(bot, "incident_ack") == [(ONCALL, "accepted", None)]

    # A second click (from a stale copy of the header) changes nothing and says who has it.
    await bot.slack.block_action("incident_ack", user_id="U0SOMEONE1", message=message)
    [response] = await bot.fake_slack.wait_for_responses(1)
    assert f"already acknowledged by <@{ONCALL}>" in response["text"]
    assert response["response_type"] == "ephemeral"
    await click_done(bot, "incident_ack", 2)
    assert len(replies_posted(bot)) == 1
    assert (await audit(bot, "incident_ack"))[1] == ("U0SOMEONE1", "accepted", f"already acknowledged by {ONCALL}")


async def test_set_severity_raises_and_moves_the_thread_then_lowers_in_place(bot: BotUnderTest) -> None:
    incident, message = await open_incident(bot)
    await bot.slack.block_action("incident_set_severity", user_id=ONCALL, message=message, selected_option="P1")
    await click_done(bot, "incident_set_severity", 1)
    [row] = await bot.query("SELECT severity, channel, thread_ts FROM incidents")
    assert (row["severity"], row["channel"]) == ("P1", INCIDENTS)
    assert [h["channel"] for h in headers_posted(bot)] == [ALERTS, INCIDENTS]
    assert "moved to <#C0INCIDENTS>" in block_text(bot.fake_slack.messages[(ALERTS, incident["thread_ts"])])
    events = await bot.query("SELECT actor, data FROM timeline_events WHERE kind = 'severity_changed'")
    assert [(e["actor"], e["data"]["from"], e["data"]["to"]) for e in events] == [(ONCALL, "P3", "P1")]

    moved = bot.fake_slack.messages[(INCIDENTS, row["thread_ts"])]
    await bot.slack.block_action("incident_set_severity", user_id=ONCALL, message=moved, selected_option="P4")
    await click_done(bot, "incident_set_severity", 2)
    [row2] = await bot.query("SELECT severity, channel, thread_ts FROM incidents")
    # Lowering never moves the thread back: people are already in it.
    assert (row2["severity"], row2["channel"], row2["thread_ts"]) == ("P4", INCIDENTS, row["thread_ts"])
    assert len(headers_posted(bot)) == 2
    assert "P4 #1" in block_text(bot.fake_slack.messages[(INCIDENTS, row["thread_ts"])])
    assert [a[1] for a in await audit(bot, "incident_set_severity")] == ["accepted", "accepted"]


async def test_set_severity_refuses_what_is_not_a_severity(bot: BotUnderTest) -> None:
    _, message = await open_incident(bot)
    await bot.slack.block_action("incident_set_severity", user_id=ONCALL, message=message, selected_option="P7")
    [response] = await bot.fake_slack.wait_for_responses(1)
    assert "`P7` is not a severity" in response["text"]
    [row] = await bot.query("SELECT severity FROM incidents")
    assert row["severity"] == "P3"
    assert [a[1] for a in await audit(bot, "incident_set_severity")] == ["refused"]


async def test_buttons_on_an_unknown_incident_are_refused(bot: BotUnderTest) -> None:
    await bot.slack.block_action("incident_ack", "999", user_id=ONCALL, block_id="incident:999")
    [response] = await bot.fake_slack.wait_for_responses(1)
    assert "no incident #999" in response["text"]
    assert await audit(bot, "incident_ack") == [(ONCALL, "refused", "There is no incident #999")]


async def test_silence_creates_a_real_alertmanager_silence(make_bot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async with standalone_alertmanager(tmp_path / "am") as am, make_bot() as bot:
        payload = recorded("highresponsetime_firing")
        payload["externalURL"] = am.url  # Alertmanager tells the bot where it lives
        incident, message = await open_incident(bot, payload)
        [button] = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
                    if e["action_id"] == "incident_silence"]
        assert button["confirm"]["confirm"]["text"] == "Silence 1h"  # Slack asks before sending the click
        before = datetime.now().astimezone()
        await bot.slack.block_action("incident_silence", user_id=ONCALL, message=message)
        await click_done(bot, "incident_silence", 1)
        async with aiohttp.ClientSession() as session, session.get(f"{am.url}/api/v2/silences") as resp:
            silences = await resp.json()
        [silence] = silences
        assert silence["status"]["state"] == "active"
        assert silence["matchers"] == [{"name": "alertname", "value": "HighResponseTime", "isRegex": False,
                                        "isEqual": True}]
        assert silence["createdBy"] == ONCALL and "incident #1" in silence["comment"]
        ends = datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00"))
        assert timedelta(minutes=59) < ends - before < timedelta(minutes=61)
        events = await bot.query("SELECT actor, data FROM timeline_events WHERE kind = 'silenced'")
        assert [(e["actor"], e["data"]["silence_id"]) for e in events] == [(ONCALL, silence["id"])]
        header = block_text(bot.fake_slack.messages[(ALERTS, incident["thread_ts"])])
        assert "*Silenced:* until" in header and f"<@{ONCALL}>" in header
        assert "Silenced in Alertmanager for 1h" in replies_posted(bot)[0]["text"]
        assert await audit(bot, "incident_silence") == [(ONCALL, "accepted", None)]


async def test_silence_when_alertmanager_is_unreachable_says_so(bot: BotUnderTest) -> None:
    payload = recorded("highresponsetime_firing")
    payload["externalURL"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    _, message = await open_incident(bot, payload)
    await bot.slack.block_action("incident_silence", user_id=ONCALL, message=message)
    [response] = await bot.fake_slack.wait_for_responses(1)
    assert "Could not create the silence" in response["text"] and "unreachable" in response["text"]
    await click_done(bot, "incident_silence", 1)
    assert await bot.query("SELECT id FROM timeline_events WHERE kind = 'silenced'") == []
    assert replies_posted(bot) == []
    [(actor, outcome, reason)] = await audit(bot, "incident_silence")
    assert (actor, outcome) == (ONCALL, "refused") and reason and "unreachable" in reason


async def test_alertmanager_url_from_config_overrides_external_url(make_bot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async with standalone_alertmanager(tmp_path / "am") as am, \
            make_bot(config={"alerts": {"alertmanager_url": am.url, "silence_duration": "30m"}}) as bot:
        payload = recorded("highresponsetime_firing")
        payload["externalURL"] = "http://127.0.0.1:1"  # e.g. a public URL the bot cannot reach
        incident, message = await open_incident(bot, payload)
        assert f"<{am.url}/#/silences/new?filter=" in block_text(message)
        await bot.slack.block_action("incident_silence", user_id=ONCALL, message=message)
        await click_done(bot, "incident_silence", 1)
        async with aiohttp.ClientSession() as session, session.get(f"{am.url}/api/v2/silences") as resp:
            [silence] = await resp.json()
        start = datetime.fromisoformat(silence["startsAt"].replace("Z", "+00:00"))
        ends = datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00"))
        assert abs(ends - start - timedelta(minutes=30)) < timedelta(seconds=1)  # Alertmanager stamps its own start
        assert incident["id"] == 1
