"""Helpers for alert tests: recorded payloads, posting them as Alertmanager does, waiting for the bot."""

import asyncio
import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.harness import BotUnderTest, HttpResult

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alertmanager"
PATH = "/webhooks/alertmanager"
TOKEN = "am-token"


def recorded(name: str) -> dict[str, Any]:
    """A payload a real Alertmanager sent (tests/fixtures/alertmanager/NAME.json)."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def shifted(payload: dict[str, Any], by: timedelta) -> dict[str, Any]:
    """The same notification as if everything happened `by` later (a re-fire is a new startsAt)."""
    out = copy.deepcopy(payload)
    for alert in out["alerts"]:
        alert["startsAt"] = iso(parse(alert["startsAt"]) + by)
        if not alert["endsAt"].startswith("0001"):
            alert["endsAt"] = iso(parse(alert["endsAt"]) + by)
    return out


async def post_alert(bot: BotUnderTest, payload: Any, token: str | None = TOKEN,
                     headers: dict[str, str] | None = None) -> HttpResult:
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    if isinstance(payload, bytes | str):
        sent.setdefault("Content-Type", "application/json")
        return await bot.post(PATH, data=payload, headers=sent)
    return await bot.post(PATH, json=payload, headers=sent)


async def settle(bot: BotUnderTest, timeout: float = 30) -> None:  # noqa: ASYNC109
    """Wait until every stored notification is processed and every queued Slack call is sent."""
    async with asyncio.timeout(timeout):
        await bot.runtime.services["alert_processor"].drain()
        await bot.runtime.services["slack_outbox"].drain()


def headers_posted(bot: BotUnderTest) -> list[dict[str, Any]]:
    """Top-level messages (incident headers) the bot posted."""
    return [c for c in bot.fake_slack.calls_to("chat.postMessage") if not c.get("thread_ts")]


def replies_posted(bot: BotUnderTest) -> list[dict[str, Any]]:
    return [c for c in bot.fake_slack.calls_to("chat.postMessage") if c.get("thread_ts")]


def block_text(message: dict[str, Any]) -> str:
    """Every text in a message's blocks, joined: what a person reads."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks") or [])
    return "\n".join(out)


async def click_done(bot: BotUnderTest, action: str, count: int = 1, timeout: float = 15) -> None:  # noqa: ASYNC109
    """Wait until the bot has finished handling `count` clicks on `action` (its audit row is written
    last, after Slack got its ack), then until what the click queued reached the fake Slack."""
    async with asyncio.timeout(timeout):
        while True:
            rows = await bot.query("SELECT count(*) AS n FROM audit_log WHERE action = %s", action)
            if rows[0]["n"] >= count:
                break
            await asyncio.sleep(0.05)
    await settle(bot, timeout)
