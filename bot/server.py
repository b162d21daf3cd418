"""`atl-bot serve`: storage (external or embedded), migrations, the web app, Socket Mode when asked."""

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from bot.config import AppConfig
from bot.coord import Coordination
from bot.embedded import Embedded
from bot.runtime import Runtime
from bot.settings import Settings
from bot.slack.app import build_app
from bot.slack.client import make_client
from bot.store import Store
from bot.store.migrate import migrate
from bot.web import build_web_app

log = logging.getLogger(__name__)


class StartupError(Exception):
    """A dependency could not be reached at startup; the message says what to do."""


@asynccontextmanager
async def running_runtime(settings: Settings, config: AppConfig) -> AsyncIterator[Runtime]:
    embedded = Embedded(settings.atl_data_dir)
    try:
        if settings.database_url is not None:
            db_url = settings.database_url.get_secret_value()
            log.info("using PostgreSQL from DATABASE_URL")
        else:
            db_url = await asyncio.to_thread(embedded.postgres_url)
        if settings.redis_url is not None:
            redis_url = settings.redis_url.get_secret_value()
            log.info("using Redis from REDIS_URL")
        else:
            redis_url = await asyncio.to_thread(embedded.redis_url)
        try:
            await migrate(db_url)
        except Exception as exc:
            raise StartupError(f"PostgreSQL is not usable ({type(exc).__name__}: {exc}); check DATABASE_URL") from exc
        store = Store(db_url)
        await store.open()
        coord = Coordination(redis_url)
        try:
            await coord.ping()
        except Exception as exc:
            await store.close()
            raise StartupError(f"Redis is not reachable ({type(exc).__name__}: {exc}); check REDIS_URL") from exc
        runtime = Runtime(settings=settings, config=config, store=store, coord=coord, slack=make_client(settings))
        try:
            yield runtime
        finally:
            await coord.close()
            await store.close()
    finally:
        await asyncio.to_thread(embedded.stop)


async def serve(settings: Settings, config: AppConfig, host: str, port: int) -> None:
    async with running_runtime(settings, config) as runtime:
        bolt = build_app(runtime)
        app = build_web_app(runtime, bolt)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        socket_handler = None
        if settings.slack_app_token is not None:
            from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

            socket_handler = AsyncSocketModeHandler(bolt, settings.slack_app_token.get_secret_value())
            await socket_handler.connect_async()
        log.info("atl-bot serving", extra={"host": host, "port": port,
                                           "mode": "socket" if socket_handler else "http"})
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("atl-bot stopping")
        if socket_handler is not None:
            with contextlib.suppress(Exception):
                await socket_handler.close_async()
        await runner.cleanup()
