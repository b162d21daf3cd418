"""One aiohttp application: Slack events, health, readiness, metrics (and capability routes)."""

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.capabilities import install_all
from bot.logs import request_id, user_id
from bot.metrics import HTTP_LATENCY, HTTP_REQUESTS, REGISTRY
from bot.runtime import Runtime
from bot.store.migrate import current_version, latest_version

log = logging.getLogger(__name__)

RUNTIME = web.AppKey("runtime", Runtime)
BOLT = web.AppKey("bolt", AsyncApp)
READY_TIMEOUT_S = 2.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id.set(request.headers.get("X-Request-Id") or uuid.uuid4().hex[:16])
    user_id.set(None)
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        HTTP_REQUESTS.labels(route=route, status=str(status)).inc()
        HTTP_LATENCY.labels(route=route).observe(time.perf_counter() - started)


async def slack_events(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    if runtime.settings.socket_mode:
        # Bolt skips signature checks in Socket Mode, so this route must not accept anything then.
        return web.json_response({"error": "Socket Mode is on: Slack events arrive over the socket"}, status=404)
    try:
        int(request.headers.get("X-Slack-Request-Timestamp", "0"))
    except ValueError:
        # slack_sdk's verifier raises on a non-numeric timestamp and Bolt answers 500; it is a forgery: 401.
        return web.json_response({"error": "invalid request"}, status=401)
    bolt = request.app[BOLT]
    bolt_response = await bolt.async_dispatch(await to_bolt_request(request))
    return await to_aiohttp_response(bolt_response)


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    problems: dict[str, str] = {}

    async def database() -> None:
        async with runtime.store.connection() as conn:
            version = await current_version(conn)
        if version < latest_version():
            problems["migrations"] = f"schema at version {version}, expected {latest_version()}: run atl-bot migrate"

    for name, check in (("postgres", database), ("redis", runtime.coord.ping)):
        try:
            await asyncio.wait_for(check(), READY_TIMEOUT_S)
        except TimeoutError:
            # A pool waiting for a connection that never comes has no message of its own.
            problems[name] = f"unreachable: no answer within {READY_TIMEOUT_S:g}s"
        except Exception as exc:  # any failure means not ready; the reason goes in the answer
            problems[name] = f"unreachable: {type(exc).__name__}: {exc}".strip()[:300]
    if problems:
        return web.json_response({"status": "unavailable", "problems": problems}, status=503)
    return web.json_response({"status": "ready"})


async def metrics(_: web.Request) -> web.Response:
    return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})


def build_web_app(runtime: Runtime, bolt: AsyncApp) -> web.Application:
    app = web.Application(middlewares=[observe], client_max_size=1024 * 1024)
    app[RUNTIME] = runtime
    app[BOLT] = bolt
    app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    install_all(runtime, bolt, app)
    return app
