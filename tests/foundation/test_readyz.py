"""/readyz: 200 only when PostgreSQL and Redis answer and the schema is current; otherwise 503 and why."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.store.migrate import latest_version
from tests.harness import BotUnderTest, FakeSlack, PgServer, RedisServer, run_bot


@pytest.fixture
def own_pg() -> Iterator[PgServer]:
    """A cluster of this test's own, so stopping it disturbs no other test."""
    server = PgServer.create()
    yield server
    server.destroy()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer.start()
    yield server
    server.stop()


@pytest.fixture
async def bot_on_own_services(own_pg: PgServer, own_redis: RedisServer, fake_slack: FakeSlack,
                              tmp_path: Path) -> AsyncIterator[BotUnderTest]:
    url = await own_pg.create_database("atl")
    async with run_bot(fake_slack=fake_slack, database_url=url, redis_url=own_redis.url(0),
                       workdir=tmp_path) as bot:
        yield bot


async def test_ready_when_everything_answers(bot: BotUnderTest) -> None:
    result = await bot.get("/readyz")

    assert result.status == 200 and result.json == {"status": "ready"}


async def test_not_ready_while_postgres_is_stopped(bot_on_own_services: BotUnderTest, own_pg: PgServer) -> None:
    bot = bot_on_own_services
    assert (await bot.get("/readyz")).status == 200

    await asyncio.to_thread(own_pg.stop)
    # The first answer sees the pool's connection cut, the next ones a pool that cannot connect.
    for _ in range(2):
        down = await bot.get("/readyz")

        assert down.status == 503 and down.json is not None
        assert down.json["status"] == "unavailable"
        assert set(down.json["problems"]) == {"postgres"}
        reason = down.json["problems"]["postgres"]
        assert reason.startswith("unreachable: ") and len(reason) > len("unreachable: TimeoutError:"), reason

    await asyncio.to_thread(own_pg.start)
    assert await eventually_ready(bot)


async def test_not_ready_while_redis_is_down(bot_on_own_services: BotUnderTest, own_redis: RedisServer) -> None:
    bot = bot_on_own_services
    assert (await bot.get("/readyz")).status == 200

    await asyncio.to_thread(own_redis.stop)
    down = await bot.get("/readyz")

    assert down.status == 503 and down.json is not None
    assert set(down.json["problems"]) == {"redis"}
    assert "unreachable" in down.json["problems"]["redis"]


async def test_not_ready_when_a_migration_is_missing(bot: BotUnderTest) -> None:
    await bot.query("DELETE FROM schema_migrations WHERE version = %s", latest_version())

    down = await bot.get("/readyz")

    assert down.status == 503 and down.json is not None
    assert set(down.json["problems"]) == {"migrations"}
    assert "atl-bot migrate" in down.json["problems"]["migrations"]


async def eventually_ready(bot: BotUnderTest, attempts: int = 50) -> bool:
    """The pool reconnects on its own once PostgreSQL is back."""
    for _ in range(attempts):
        if (await bot.get("/readyz")).status == 200:
            return True
        await asyncio.sleep(0.2)
    return False
