"""The process's one timer scheduler, shared by every capability that schedules (engine, response)."""

from collections.abc import AsyncIterator

from aiohttp import web

from bot.runtime import Runtime
from bot.scheduler.service import Scheduler

SCHEDULER = "scheduler"


def scheduler_service(runtime: Runtime, app: web.Application) -> Scheduler:
    """The first capability asking for it creates it and ties its loop to the web app's lifetime."""
    existing: Scheduler | None = runtime.services.get(SCHEDULER)
    if existing is not None:
        return existing
    scheduler = runtime.services[SCHEDULER] = Scheduler(runtime.store)

    async def running(_: web.Application) -> AsyncIterator[None]:
        await scheduler.start()
        yield
        await scheduler.stop()

    app.cleanup_ctx.append(running)
    return scheduler
