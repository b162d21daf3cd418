"""A P1's automatic diagnostics wait on each environment's /health (up to seconds per check). While they
do, the bot holds no transaction open and no lock on the diagnostics timer; once they answer, the findings
land in the incident's thread and timeline as before."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import psycopg
import pytest
from aiohttp import web

from bot.response.procedure import DIAGNOSTICS
from tests.harness.bot import MakeBot
from tests.harness.net import free_port
from tests.harness.servers import AppServer
from tests.incidents.conftest import config
from tests.incidents.support import command, hand_driven, replies
from tests.incidents.test_postmortem import production


@dataclass
class SlowHealth:
    """A /health that answers only when the test says so: a production API struggling mid-incident."""

    url: str = ""
    asked: asyncio.Event = field(default_factory=asyncio.Event)
    answer: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def slow_health() -> AsyncIterator[SlowHealth]:
    slow = SlowHealth()

    async def health(_: web.Request) -> web.Response:
        slow.asked.set()
        await slow.answer.wait()
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/health", health)
    server, port = AppServer(), free_port()
    await server.start(app, port)
    slow.url = f"http://127.0.0.1:{port}/health"
    try:
        yield slow
    finally:
        slow.answer.set()
        await server.stop()


async def diagnostics_timer_lockable(url: str) -> bool:
    """Whether another connection can lock the diagnostics timer's row right now without waiting."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        try:
            async with conn.transaction():
                cur = await conn.execute("SELECT id FROM timers WHERE kind = %s FOR UPDATE NOWAIT", (DIAGNOSTICS,))
                assert await cur.fetchone() is not None, "the P1 armed no diagnostics timer"
        except psycopg.errors.LockNotAvailable:
            return False
    return True


async def test_diagnostics_wait_on_health_checks_with_no_transaction_open(make_bot: MakeBot, clock,  # type: ignore[no-untyped-def]
                                                                         slow_health: SlowHealth) -> None:
    environment = {**production(), "health": {"public_url": slow_health.url}}
    overrides = config(environments={"production": environment},
                       response={"diagnostics": {"health_timeout_seconds": 20, "log_patterns": []}})
    async with make_bot(config=overrides) as bot:
        await hand_driven(bot, clock)
        declaring = asyncio.create_task(command(bot, "declare P1 checkout failing"))
        await asyncio.wait_for(slow_health.asked.wait(), timeout=15)

        # The checks are waiting on /health: the timer's row is free, no transaction touches the timers.
        lockable = await diagnostics_timer_lockable(bot.database_url)
        holding = await bot.query(
            "SELECT a.pid, a.state, a.query FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.relation = 'timers'::regclass AND l.pid <> pg_backend_pid()")
        thread_while_checking = await replies(bot)
        slow_health.answer.set()
        await declaring

        assert lockable is True
        assert holding == []
        assert not any("Automatic diagnostics" in r for r in thread_while_checking)
        diagnostics = next(r for r in await replies(bot) if "Automatic diagnostics" in r)
        assert "1/1 environments healthy" in diagnostics and f"ok production: {slow_health.url} healthy" in diagnostics
        [event] = await bot.query("SELECT text, data FROM timeline_events WHERE kind = 'diagnostics'")
        assert "1/1 environments healthy" in event["text"]
        [timer] = await bot.query("SELECT fired_at, attempts FROM timers WHERE kind = %s", DIAGNOSTICS)
        assert timer["fired_at"] is not None and timer["attempts"] == 1
