"""Helpers for incident tests: drive the clock, let every due timer fire and every Slack call go out, run
/incident as a person would (in a channel or an incident's thread), read the thread and the timeline."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from bot.clock import ManualClock
from bot.response.service import ResponseService
from bot.scheduler import Scheduler
from tests.harness.bot import BotUnderTest

START = datetime(2024, 5, 6, 3, 0, tzinfo=UTC)  # Monday 10:00 in Ho Chi Minh City: business hours
INCIDENTS, ALERTS, GENERAL = "C0INCIDENTS", "C0ALERTS00", "C0GENERAL0"
JOHN, JANE, BOB = "U0JOHNDOE0", "U0JANESMTH", "U0BOBWILSN"
ONCALL, ADMIN, DEPLOYER, APPROVER = "U0ONCALL01", "U0ADMIN000", "U0DEPLOYER", "U0APPROVER"


def response(bot: BotUnderTest) -> ResponseService:
    found: ResponseService = bot.runtime.services["response"]
    return found


def scheduler(bot: BotUnderTest) -> Scheduler:
    found: Scheduler = bot.runtime.services["scheduler"]
    return found


async def hand_driven(bot: BotUnderTest, clock: ManualClock) -> None:
    """Time is `clock`; timers fire only from `settle` (no background ticking racing the test)."""
    response(bot).use_clock(clock)
    await scheduler(bot).stop()
    # One Slack call per thread per second is Slack's pace, not what these tests check: keep them quick.
    bot.runtime.services["slack_outbox"].min_interval = 0.02


async def settle(bot: BotUnderTest, timeout: float = 30) -> None:  # noqa: ASYNC109
    """Until nothing is due: alert notifications processed, due timers fired, queued Slack calls sent."""
    services = bot.runtime.services
    async with asyncio.timeout(timeout):
        while True:
            await services["alert_processor"].drain()
            fired = await scheduler(bot).tick()
            await services["slack_outbox"].drain()
            if not fired.fired and not fired.failed:
                return


async def advance(bot: BotUnderTest, clock: ManualClock, *, hours: float = 0, minutes: float = 0,
                  seconds: float = 0) -> None:
    clock.advance(timedelta(hours=hours, minutes=minutes, seconds=seconds))
    await settle(bot)


async def incident(bot: BotUnderTest, incident_id: int = 1) -> dict[str, Any]:
    rows = await bot.query("SELECT * FROM incidents WHERE id = %s", incident_id)
    assert rows, f"no incident #{incident_id}"
    return rows[0]


async def timeline(bot: BotUnderTest, incident_id: int = 1) -> list[dict[str, Any]]:
    return await bot.query("SELECT * FROM timeline_events WHERE incident_id = %s ORDER BY at, id", incident_id)


async def kinds(bot: BotUnderTest, incident_id: int = 1) -> list[str]:
    return [e["kind"] for e in await timeline(bot, incident_id)]


def text_of(message: dict[str, Any]) -> str:
    """Every text of a message's blocks (and its fallback text), as one string."""
    return message.get("text", "") + "\n" + json.dumps(message.get("blocks") or [], ensure_ascii=False)


async def thread(bot: BotUnderTest, incident_id: int = 1) -> list[dict[str, Any]]:
    """The incident's header and replies as Slack shows them, oldest first."""
    row = await incident(bot, incident_id)
    assert row["thread_ts"], f"incident #{incident_id} has no thread yet"
    return bot.fake_slack.thread(row["channel"], row["thread_ts"])


async def replies(bot: BotUnderTest, incident_id: int = 1) -> list[str]:
    return [text_of(m) for m in (await thread(bot, incident_id))[1:]]


async def header(bot: BotUnderTest, incident_id: int = 1) -> dict[str, Any]:
    return (await thread(bot, incident_id))[0]


async def command(bot: BotUnderTest, text: str, *, user: str = ONCALL, channel: str = GENERAL,
                  thread_ts: str | None = None) -> dict[str, Any]:
    """Run `/incident TEXT`; returns the answer (usage errors in the ack, the rest on the response URL)."""
    before = len(bot.fake_slack.responses)
    body = bot.slack.command_body("/incident", text, user_id=user, channel_id=channel)
    if thread_ts is not None:
        body = urlencode([*parse_qsl(body), ("thread_ts", thread_ts)])
    result = await bot.slack.post_raw(body)
    assert result.status == 200, result.body
    if result.json and (result.json.get("text") or result.json.get("blocks")):
        return result.json
    answers = await bot.fake_slack.wait_for_responses(before + 1)
    await settle(bot)
    return answers[before]


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("type") == "button":
                found.setdefault(element["action_id"], element)
    return found


def with_button(messages: list[dict[str, Any]], action_id: str, value_prefix: str = "") -> dict[str, Any]:
    """The latest message carrying that button."""
    for message in reversed(messages):
        element = buttons(message).get(action_id)
        if element is not None and str(element.get("value", "")).startswith(value_prefix):
            return message
    raise AssertionError(f"no message with a {action_id} button among {len(messages)}")


async def audited(bot: BotUnderTest, action: str, count: int = 1, timeout: float = 15) -> list[dict[str, Any]]:  # noqa: ASYNC109
    """Wait until `count` audit rows for `action` exist (a click's last write), then settle."""
    async with asyncio.timeout(timeout):
        while True:
            rows = await bot.query("SELECT * FROM audit_log WHERE action = %s ORDER BY id", action)
            if len(rows) >= count:
                break
            await asyncio.sleep(0.05)
    await settle(bot)
    return rows
