"""Capabilities (alerts, runbook engine, incidents, …) plug into the runtime, Bolt and the web app here.

Each entry is a module with `install(runtime, bolt, web)`: it registers slash-command executors
(`COMMANDS[name].executors[RequestType] = fn`), Bolt action/view listeners, web routes and background
tasks (`web.on_startup` / `web.on_cleanup`). Order matters only where one capability uses another's service.
"""

import importlib
from typing import Protocol

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime

CAPABILITIES: list[str] = [
    "bot.oncall.install",
    "bot.alerts.install",
    "bot.engine.install",
    "bot.response.install",
]


class Capability(Protocol):
    def install(self, runtime: Runtime, bolt: AsyncApp, app: web.Application) -> None: ...


def install_all(runtime: Runtime, bolt: AsyncApp, app: web.Application) -> None:
    for name in CAPABILITIES:
        module: Capability = importlib.import_module(name)  # type: ignore[assignment]
        module.install(runtime, bolt, app)
