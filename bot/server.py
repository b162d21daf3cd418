"""`atl-bot serve`: storage (external or embedded), migrations, the web app, Socket Mode when asked."""

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.config import AppConfig
from bot.coord import Coordination
from bot.embedded import Embedded
from bot.logs import request_id, user_id
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


SOCKET_CONNECT_TIMEOUT_S = 20.0


class _EnvelopeHandler(AsyncSocketModeHandler):
    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        # Each envelope runs in its own task; its id plays X-Request-Id's part, so the log lines and the
        # audit row of one command share it as they do over HTTP.
        request_id.set(req.envelope_id)
        user_id.set(None)
        await super().handle(client, req)


def _refused(error: str) -> StartupError:
    if error == "not_allowed_token_type":
        return StartupError(
            "Slack refused SLACK_APP_TOKEN (not_allowed_token_type): turn Socket Mode on for this Slack app "
            "(manifest: settings.socket_mode_enabled: true) and set SLACK_APP_TOKEN to one of its app-level tokens "
            "(xapp-…) with the connections:write scope")
    return StartupError(
        f"Slack refused SLACK_APP_TOKEN ({error}): create an app-level token with the connections:write scope "
        "(app settings → Basic Information → App-Level Tokens) and set SLACK_APP_TOKEN to it")


@asynccontextmanager
async def socket_mode(settings: Settings, bolt: AsyncApp) -> AsyncIterator[bool]:
    """Connected to Slack's Socket Mode while inside, when SLACK_APP_TOKEN is set; yields whether it is."""
    if settings.slack_app_token is None:
        yield False
        return
    app_token = settings.slack_app_token.get_secret_value()
    handler = _EnvelopeHandler(bolt, app_token)
    try:
        # slack_sdk's connect() retries a refused token every few seconds forever, so startup would hang
        # looking healthy; asking for the WebSocket URL once ourselves turns a wrong token into an exit.
        try:
            opened = await bolt.client.apps_connections_open(app_token=app_token)
        except SlackApiError as exc:
            raise _refused(str(exc.response.get("error"))) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise StartupError(f"Slack's Web API is not reachable at SLACK_API_URL ({type(exc).__name__}: {exc}); "
                               "check this host's outbound HTTPS access and SLACK_API_URL") from exc
        handler.client.wss_uri = str(opened["url"])
        # The URL carries a connection ticket: only its host goes into messages.
        host = urlsplit(handler.client.wss_uri).netloc
        try:
            await asyncio.wait_for(handler.connect_async(), SOCKET_CONNECT_TIMEOUT_S)
        except TimeoutError as exc:
            raise StartupError(f"no Socket Mode WebSocket to {host} within {SOCKET_CONNECT_TIMEOUT_S:g}s (the log "
                               f"says why); check this host's outbound WSS access to {host}") from exc
        log.info("Socket Mode connected", extra={"host": host})
        yield True
    finally:
        with contextlib.suppress(Exception):
            await handler.close_async()


async def serve(settings: Settings, config: AppConfig, host: str, port: int) -> None:
    async with running_runtime(settings, config) as runtime:
        bolt = build_app(runtime)
        app = build_web_app(runtime, bolt)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            # Connected before listening: /readyz answers only once Slack can reach the bot.
            async with socket_mode(settings, bolt) as socket:
                site = web.TCPSite(runner, host, port)
                await site.start()
                log.info("atl-bot serving", extra={"host": host, "port": port, "mode": "socket" if socket else "http"})
                stop = asyncio.Event()
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, stop.set)
                await stop.wait()
                log.info("atl-bot stopping")
        finally:
            await runner.cleanup()
