"""Capability: /deploy and /rollback run runbooks through the engine; the run message's buttons; its timers."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.engine.commands import SERVICE, run_deploy, run_rollback
from bot.engine.service import Engine
from bot.runbooks.loader import load_runbooks
from bot.runtime import Runtime
from bot.scheduler.install import scheduler_service
from bot.slack import run_actions
from bot.slack.commands import COMMANDS
from bot.slack.commands.deploy import DeployRequest
from bot.slack.commands.rollback import RollbackRequest
from bot.slack.outbox import outbox_service
from bot.slack.run_messages import RunMessages
from bot.slack.usergroups import UserGroups

log = logging.getLogger(__name__)

def install(runtime: Runtime, bolt: AsyncApp, app: web.Application) -> None:
    config = runtime.config
    outbox = outbox_service(runtime, app)
    scheduler = scheduler_service(runtime, app)
    catalogue = load_runbooks(config.engine.runbooks_dir, environments=config.environments,
                              prometheus_url=str(runtime.settings.prometheus_url))
    for problem in catalogue.problems:
        # The rest still run; an invalid runbook is refused when someone asks for it.
        log.error("runbook problem", extra={"problem": str(problem)})
    messages = RunMessages(config, outbox, runtime.store, runtime.slack)
    # The scheduler's clock, not a fixed one: tests that drive the engine's clock by hand drive the cache's too.
    groups = UserGroups(runtime.slack, now=lambda: scheduler.clock.now())
    engine = Engine(config, runtime.store, runtime.coord, catalogue, scheduler, messages, scheduler.clock, groups)
    runtime.services[SERVICE] = engine
    COMMANDS["/deploy"].executors[DeployRequest] = run_deploy
    COMMANDS["/rollback"].executors[RollbackRequest] = run_rollback
    run_actions.register(bolt, runtime, engine)

    async def reaping(_: web.Application) -> AsyncIterator[None]:
        await _reap(engine)  # before serving: what a previous process left running is settled first
        task = asyncio.create_task(_reap_forever(engine, config.engine.lock_ttl), name="run-reaper")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await engine.stop()

    app.cleanup_ctx.append(reaping)


async def _reap(engine: Engine) -> None:
    try:
        await engine.reap()
    except Exception:  # the next pass tries again; nothing is lost
        log.exception("reaping interrupted runs failed")


async def _reap_forever(engine: Engine, every_s: float) -> None:
    """Runs a dead process left 'running' are failed once their lock has expired."""
    while True:
        await asyncio.sleep(every_s)
        await _reap(engine)
