"""Capability: the incident lifecycle — /incident, the response procedure on durable timers, escalation,
status-page prompts and postmortems — on top of the alerts capability's incidents and threads.

It puts one observer in front of every incident change (alerts, buttons, /incident, timers, runbook runs):
the thread publisher, then the procedure. The scheduler is the process's one (shared with the engine);
tests drive time with `runtime.services["response"].use_clock(ManualClock(...))`.
"""

from collections.abc import AsyncIterator

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.alerts.processor import AlertProcessor
from bot.engine.service import Engine
from bot.incidents.service import IncidentService
from bot.response.observers import ResponseObservers
from bot.response.procedure import Procedure
from bot.response.publish import StatusPublisher
from bot.response.runs import RunsOnIncidents
from bot.response.service import ResponseService
from bot.response.timers import ProcedureTimers
from bot.runtime import Runtime
from bot.scheduler.install import scheduler_service
from bot.slack import incident_commands, response_actions
from bot.slack.incident_threads import IncidentThreads
from bot.slack.outbox import outbox_service
from bot.slack.response_messages import ResponseMessages
from bot.statuspage import build_status_page

STATUS_PAGE = "statuspage"


def install(runtime: Runtime, bolt: AsyncApp, app: web.Application) -> None:
    config = runtime.config
    incidents: IncidentService | None = runtime.services.get("incidents")
    threads: IncidentThreads | None = runtime.services.get("incident_threads")
    if incidents is None or threads is None:
        raise RuntimeError("bot.response.install needs bot.alerts.install before it in CAPABILITIES")
    outbox = outbox_service(runtime, app)
    scheduler = scheduler_service(runtime, app)
    page = build_status_page(runtime.settings, config.statuspage)

    messages = ResponseMessages(config, outbox, runtime.store, runtime.slack, threads, lambda: scheduler.clock.now())
    messages.install_header()
    procedure = Procedure(config, scheduler, messages, page)
    observers = ResponseObservers(threads, procedure, config.response.every_event)
    procedure.observer = observers
    # Every producer of incident changes reports to the same chain.
    incidents.observer = observers
    publisher = StatusPublisher(runtime.store, runtime.coord, page, incidents)
    service = ResponseService(config, runtime.store, scheduler, incidents, observers, procedure, publisher)
    processor: AlertProcessor | None = runtime.services.get("alert_processor")
    if processor is not None:
        processor.observer = observers
        service.on_clock(lambda clock: setattr(processor, "clock", clock.now))
    engine: Engine | None = runtime.services.get("engine")
    if engine is not None:
        engine.transitions.observer = RunsOnIncidents(engine.transitions.observer, observers)
        service.on_clock(engine.use_clock)

    ProcedureTimers(config, runtime.store, procedure, publisher, messages.upload_postmortem).register(scheduler)
    runtime.services.update({incident_commands.SERVICE: service, STATUS_PAGE: page})
    incident_commands.register()
    response_actions.register(bolt, runtime, service, outbox)

    async def status_page(_: web.Application) -> AsyncIterator[None]:
        yield
        await page.close()

    app.cleanup_ctx.append(status_page)
