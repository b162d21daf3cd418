"""A real Prometheus and a real Alertmanager for end-to-end tests, scraping a tiny metrics app.

Everything listens on 127.0.0.1 on free ports; intervals are short (1 s) so alerts fire and resolve in
seconds. Alertmanager posts to the bot with `Authorization: Bearer …` from its webhook_config.
"""

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from tests.harness import free_port
from tests.harness.servers import AppServer, ReadyProcess
from tests.stack.prometheus import PrometheusServer

ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"

# The runbook's HighResponseTime rule, with `for` shortened, plus a critical twin for severity changes.
RULES: dict[str, Any] = {"groups": [{"name": "audio_tai_loc_alerts", "interval": "1s", "rules": [
    {"alert": "HighResponseTime", "expr": 'http_request_duration_seconds{quantile="0.95"} > 0.5', "for": "0s",
     "labels": {"severity": "warning"},
     "annotations": {"summary": "p95 latency above 500ms on {{ $labels.route }}", "runbook": "switch-upstream"}},
    {"alert": "VeryHighResponseTime", "expr": 'http_request_duration_seconds{quantile="0.95"} > 2', "for": "0s",
     "labels": {"severity": "critical"},
     "annotations": {"summary": "p95 latency above 2s on {{ $labels.route }}",
                     "runbook_url": "https://runbooks.example/latency"}},
]}]}


def _mkdir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)


@dataclass
class MetricsApp:
    """/metrics with one p95 latency gauge per route; tests set the values."""

    latency: dict[str, float] = field(default_factory=lambda: {"/api/checkout": 0.1})
    port: int = field(default_factory=free_port)
    _server: AppServer = field(default_factory=AppServer, repr=False)

    async def _metrics(self, _: web.Request) -> web.Response:
        lines = ["# TYPE http_request_duration_seconds summary"]
        lines += [f'http_request_duration_seconds{{quantile="0.95",route="{route}"}} {value}'
                  for route, value in sorted(self.latency.items())]
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        await self._server.start(app, self.port)

    async def stop(self) -> None:
        await self._server.stop()


def alertmanager(workdir: Path, port: int) -> ReadyProcess:
    """Alertmanager with workdir/alertmanager.yml, alone (no cluster peers)."""
    url = f"http://127.0.0.1:{port}"
    return ReadyProcess("alertmanager", [
        ALERTMANAGER, f"--config.file={workdir / 'alertmanager.yml'}", f"--storage.path={workdir / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{port}", f"--web.external-url={url}", "--cluster.listen-address=",
    ], workdir / "alertmanager.log", url)


@dataclass
class Stack:
    metrics: MetricsApp
    prometheus: PrometheusServer
    alertmanager: ReadyProcess

    async def alertmanager_get(self, path: str) -> Any:
        async with aiohttp.ClientSession() as session, session.get(self.alertmanager.url + path) as resp:
            return await resp.json()


@asynccontextmanager
async def monitoring_stack(workdir: Path, webhook_url: str, token: str,
                           group_by: list[str] | None = None) -> AsyncIterator[Stack]:
    """Metrics app → Prometheus (1 s scrape/eval) → Alertmanager (1 s group_wait/interval) → webhook_url."""
    _mkdir(workdir)
    metrics = MetricsApp()
    await metrics.start()
    am_port = free_port()
    (workdir / "alertmanager.yml").write_text(yaml.safe_dump({
        "route": {"receiver": "bot", "group_by": group_by or ["alertname"], "group_wait": "1s",
                  "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{"name": "bot", "webhook_configs": [{
            "url": webhook_url, "send_resolved": True,
            "http_config": {"authorization": {"type": "Bearer", "credentials": token}}}]}],
    }))
    am = alertmanager(workdir, am_port)
    prometheus = PrometheusServer(workdir / "prometheus", [f"127.0.0.1:{metrics.port}"], job="fakeapp", rules=RULES,
                                  alertmanager=f"127.0.0.1:{am_port}")
    try:
        await am.start()
        await prometheus.start()
        yield Stack(metrics, prometheus, am)
    finally:
        prometheus.stop()
        am.stop(timeout=10)
        await metrics.stop()


@asynccontextmanager
async def standalone_alertmanager(workdir: Path) -> AsyncIterator[ReadyProcess]:
    """Just Alertmanager (no receivers in use), for its silences API."""
    _mkdir(workdir)
    (workdir / "alertmanager.yml").write_text(yaml.safe_dump({"route": {"receiver": "null"},
                                                              "receivers": [{"name": "null"}]}))
    process = alertmanager(workdir, free_port())
    try:
        await process.start()
        yield process
    finally:
        process.stop(timeout=10)
