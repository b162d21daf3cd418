"""Capability: the Alertmanager webhook, incident threads, the header buttons, and their background workers."""

from collections.abc import AsyncIterator

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.alerts.processor import AlertProcessor
from bot.alerts.webhook import PATH, make_handler
from bot.incidents.service import IncidentService
from bot.runtime import Runtime
from bot.slack import incident_actions
from bot.slack.incident_threads import IncidentThreads
from bot.slack.outbox import outbox_service


def install(runtime: Runtime, bolt: AsyncApp, app: web.Application) -> None:
    outbox = outbox_service(runtime, app)
    threads = IncidentThreads(runtime.config, outbox, runtime.store)
    incidents = IncidentService(runtime.store, threads)
    processor = AlertProcessor(runtime.store, runtime.config.alerts, threads)
    runtime.services.update(incidents=incidents, incident_threads=threads, alert_processor=processor)

    app.router.add_post(PATH, make_handler(runtime.store, runtime.settings.alertmanager_token,
                                           dict(runtime.config.alerts.basic_auth), processor.wake))
    incident_actions.register(bolt, runtime, incidents)

    async def processing(_: web.Application) -> AsyncIterator[None]:
        await processor.start()
        yield
        await processor.stop()

    app.cleanup_ctx.append(processing)
