"""Helpers for engine and scenario tests: read what the bot recorded and what Slack was sent, click buttons."""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, TypeVar

from bot.clock import ManualClock
from bot.engine.service import Engine
from tests.harness.bot import BotUnderTest
from tests.harness.slack_client import HttpResult

T = TypeVar("T")
DEPLOYS = "C0DEPLOYS0"
DEPLOYER, APPROVER, ADMIN, NOBODY = "U0DEPLOYER", "U0APPROVER", "U0ADMIN000", "U0TESTUSER"


def engine(bot: BotUnderTest) -> Engine:
    found: Engine = bot.runtime.services["engine"]
    return found


@asynccontextmanager
async def on_clock(bot: BotUnderTest, clock: ManualClock) -> AsyncIterator[BotUnderTest]:
    """The bot's engine on the hand-driven clock; on the way out, wait for its steps in flight."""
    engine(bot).use_clock(clock)
    try:
        yield bot
    finally:
        await engine(bot).idle()


async def later(bot: BotUnderTest, clock: ManualClock, **units: float) -> None:
    """Move the clock on (`hours=24`) and fire the timers due by then, as the scheduler's poll would."""
    clock.advance(timedelta(**units))
    await engine(bot).scheduler.tick()


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 20, what: str = "") -> T:  # noqa: ASYNC109
    """Poll `check` until it returns something truthy; fail saying what never happened."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while True:
        last = await check()
        if last:
            return last
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"within {timeout}s: {what or 'condition'} never held (last: {last!r})")
        await asyncio.sleep(0.05)


async def run_row(bot: BotUnderTest, run_id: int) -> dict[str, Any]:
    rows = await bot.query("SELECT * FROM runbook_runs WHERE id = %s", run_id)
    assert rows, f"no run #{run_id}"
    return rows[0]


async def runs(bot: BotUnderTest) -> list[dict[str, Any]]:
    return await bot.query("SELECT * FROM runbook_runs ORDER BY id")


async def wait_run(bot: BotUnderTest, run_id: int, *statuses: str, timeout: float = 30) -> dict[str, Any]:  # noqa: ASYNC109
    async def reached() -> dict[str, Any] | None:
        rows = await bot.query("SELECT * FROM runbook_runs WHERE id = %s", run_id)
        return rows[0] if rows and rows[0]["status"] in statuses else None

    return await eventually(reached, timeout, f"run #{run_id} reaching {statuses}")


async def steps(bot: BotUnderTest, run_id: int) -> dict[str, dict[str, Any]]:
    rows = await bot.query("SELECT * FROM run_steps WHERE run_id = %s ORDER BY position", run_id)
    return {row["step_id"]: row for row in rows}


async def step_statuses(bot: BotUnderTest, run_id: int) -> dict[str, str]:
    return {step_id: row["status"] for step_id, row in (await steps(bot, run_id)).items()}


def blocks_text(message: dict[str, Any]) -> str:
    """Every text in a message's blocks (sections, contexts, buttons, confirm dialogs), as one string."""
    return json.dumps(message.get("blocks") or [], ensure_ascii=False)


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("type") == "button":
                found[element["action_id"]] = element
    return found


async def run_message(bot: BotUnderTest, run_id: int, when: Callable[[dict[str, Any]], bool] = lambda m: True,
                      timeout: float = 20, what: str = "") -> dict[str, Any]:  # noqa: ASYNC109
    """The run's message as Slack now shows it, once `when` holds for it."""

    async def shown() -> dict[str, Any] | None:
        row = await run_row(bot, run_id)
        if not row["message_ts"]:
            return None
        message = bot.fake_slack.messages.get((row["channel"], row["message_ts"]))
        return message if message is not None and when(message) else None

    return await eventually(shown, timeout, what or f"run #{run_id}'s message")


async def thread(bot: BotUnderTest, run_id: int) -> list[dict[str, Any]]:
    row = await run_row(bot, run_id)
    return bot.fake_slack.thread(row["channel"], row["message_ts"])[1:]


async def thread_says(bot: BotUnderTest, run_id: int, *needles: str, timeout: float = 20) -> str:  # noqa: ASYNC109
    """The run's thread as text, once it contains every needle (replies are queued, then sent)."""

    async def said() -> str | None:
        text = " ".join(blocks_text(m) for m in await thread(bot, run_id))
        return text if all(n in text for n in needles) else None

    return await eventually(said, timeout, f"run #{run_id}'s thread saying {needles}")


async def click(bot: BotUnderTest, run_id: int, action_id: str, user: str) -> HttpResult:
    """Click a button of the run's message as `user`, once the message shows it."""
    message = await run_message(bot, run_id, lambda m: action_id in buttons(m), what=f"a {action_id} button")
    return await bot.slack.block_action(action_id, user_id=user, message=message)


async def command(bot: BotUnderTest, cmd: str, text: str, user: str = DEPLOYER,
                  channel: str = "C0GENERAL0") -> dict[str, Any]:
    """Run a slash command; returns the answer the bot posted to the response URL."""
    before = len(bot.fake_slack.responses)
    result = await bot.slack.command(cmd, text, user_id=user, channel_id=channel)
    assert result.status == 200, result.body
    if result.json and (result.json.get("text") or result.json.get("blocks")):
        return result.json  # answered in the ack (usage errors)
    answers = await bot.fake_slack.wait_for_responses(before + 1)
    return answers[before]


async def audit(bot: BotUnderTest, action: str) -> list[dict[str, Any]]:
    return await bot.query("SELECT * FROM audit_log WHERE action = %s ORDER BY id", action)
