"""Capability: `/oncall` answers who in the escalation matrix is reachable now, and why."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.oncall.roster import reachable_at
from bot.runtime import Runtime
from bot.slack.commands import COMMANDS
from bot.slack.commands.base import Executor, Invocation, Reply
from bot.slack.commands.oncall import OncallRequest
from bot.slack.oncall_blocks import oncall_blocks, oncall_text

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def make_executor(clock: Clock = system_clock) -> Executor:
    async def run_oncall(runtime: Runtime, invocation: Invocation, request: Any) -> Reply:
        config = runtime.config
        status = reachable_at(config.escalation, config.zone, clock())
        return Reply(text=oncall_text(status), blocks=oncall_blocks(status))

    return run_oncall


def install(runtime: Runtime, bolt: AsyncApp, app: web.Application) -> None:
    COMMANDS["/oncall"].executors[OncallRequest] = make_executor()
