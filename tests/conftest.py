"""Fixtures every test may use: real PostgreSQL and Redis on free ports, a fake Slack Web API, and the bot
in process. The helpers behind them are in tests/harness/."""

import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.store.db import Store
from bot.store.migrate import migrate
from tests.harness import postgres as pg
from tests.harness.bot import BotUnderTest, MakeBot, run_bot
from tests.harness.fake_slack import FakeSlack
from tests.harness.postgres import PgServer, database_name
from tests.harness.process import DESIGN_VARS
from tests.harness.redis import RedisServer

# Nothing from the developer's shell (a real SLACK_BOT_TOKEN, DATABASE_URL …) reaches a test.
for _name in DESIGN_VARS:
    os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = PgServer.create()
    try:
        yield server
    finally:
        server.destroy()
        pg.remove_template()


_MIGRATED_TEMPLATE = "atl_migrated_template"


@pytest.fixture(scope="session")
async def _migrated_template(pg_server: PgServer) -> str:
    # Migrate once per session, then copy: CREATE DATABASE … TEMPLATE is much faster than migrating.
    url = await pg_server.create_database(_MIGRATED_TEMPLATE)
    await migrate(url)
    return _MIGRATED_TEMPLATE


@pytest.fixture
async def database_url(pg_server: PgServer) -> AsyncIterator[str]:
    """A fresh, empty database for this test."""
    url = await pg_server.create_database()
    yield url
    await pg_server.drop_database(database_name(url))


@pytest.fixture
async def migrated_database_url(pg_server: PgServer, _migrated_template: str) -> AsyncIterator[str]:
    """A fresh database with every migration applied."""
    url = await pg_server.create_database(template=_migrated_template)
    yield url
    await pg_server.drop_database(database_name(url))


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def redis_url(redis_server: RedisServer) -> str:
    """Its own db index on the shared redis-server, flushed before the test."""
    return await redis_server.fresh_url()


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
def make_bot(fake_slack: FakeSlack, migrated_database_url: str, redis_url: str, tmp_path: Path) -> MakeBot:
    """`async with make_bot(config={...}, env={...}) as bot:`; bots in one test share the database,
    Redis and fake Slack (a second bot is the same deployment restarted)."""
    counter = iter(range(1, 1000))

    def factory(*, config: dict[str, Any] | None = None,
                env: dict[str, Any] | None = None) -> AbstractAsyncContextManager[BotUnderTest]:
        return run_bot(fake_slack=fake_slack, database_url=migrated_database_url, redis_url=redis_url,
                       workdir=tmp_path / f"bot{next(counter)}", config=config, env=env)

    return factory


@pytest.fixture
async def bot(make_bot: MakeBot) -> AsyncIterator[BotUnderTest]:
    async with make_bot() as running:
        yield running


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temp dir other OS users (postgres, pgserver) can use, in memory when possible, removed afterwards."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="atl-test-", dir=pg.ROOT))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


OpenStore = Callable[[], AbstractAsyncContextManager[Store]]


@pytest.fixture
def open_store(migrated_database_url: str) -> OpenStore:
    """`async with open_store() as store:` — one bot process's connection pool on the shared database."""

    @asynccontextmanager
    async def opened() -> AsyncIterator[Store]:
        store = Store(migrated_database_url)
        await store.open()
        try:
            yield store
        finally:
            await store.close()

    return opened


@pytest.fixture
async def store(open_store: OpenStore) -> AsyncIterator[Store]:
    async with open_store() as s:
        yield s
