"""A real Prometheus and a real Alertmanager for end-to-end tests, scraping a tiny metrics app.

Everything listens on 127.0.0.1 on free ports; intervals are short (1 s) so alerts fire and resolve in
seconds. Alertmanager posts to the bot with `Authorization: Bearer …` from its webhook_config.
"""

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from tests.harness import free_port

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
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
    _runner: web.AppRunner | None = None

    async def _metrics(self, _: web.Request) -> web.Response:
        lines = ["# TYPE http_request_duration_seconds summary"]
        lines += [f'http_request_duration_seconds{{quantile="0.95",route="{route}"}} {value}'
                  for route, value in sorted(self.latency.items())]
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@dataclass
class Process:
    name: str
    args: list[str]
    log: Path
    url: str
    proc: subprocess.Popen[bytes] | None = None

    def _spawn(self) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT, cwd=self.log.parent)

    async def start(self) -> None:
        self._spawn()
        assert self.proc is not None
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
                try:
                    async with session.get(f"{self.url}/-/ready", timeout=aiohttp.ClientTimeout(total=1)) as resp:
                        if resp.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} did not become ready:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Stack:
    metrics: MetricsApp
    prometheus: Process
    alertmanager: Process

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
    am_port, prom_port = free_port(), free_port()
    am_url, prom_url = f"http://127.0.0.1:{am_port}", f"http://127.0.0.1:{prom_port}"
    (workdir / "rules.yml").write_text(yaml.safe_dump(RULES))
    (workdir / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(workdir / "rules.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
        "scrape_configs": [{"job_name": "fakeapp",
                            "static_configs": [{"targets": [f"127.0.0.1:{metrics.port}"]}]}],
    }))
    (workdir / "alertmanager.yml").write_text(yaml.safe_dump({
        "route": {"receiver": "bot", "group_by": group_by or ["alertname"], "group_wait": "1s",
                  "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{"name": "bot", "webhook_configs": [{
            "url": webhook_url, "send_resolved": True,
            "http_config": {"authorization": {"type": "Bearer", "credentials": token}}}]}],
    }))
    alertmanager = Process("alertmanager", [
        ALERTMANAGER, f"--config.file={workdir / 'alertmanager.yml'}", f"--storage.path={workdir / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{am_port}", f"--web.external-url={am_url}", "--cluster.listen-address=",
    ], workdir / "alertmanager.log", am_url)
    prometheus = Process("prometheus", [
        PROMETHEUS, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'prom-data'}",
        f"--web.listen-address=127.0.0.1:{prom_port}", f"--web.external-url={prom_url}",
        "--rules.alert.resend-delay=1s",
    ], workdir / "prometheus.log", prom_url)
    try:
        await alertmanager.start()
        await prometheus.start()
        yield Stack(metrics, prometheus, alertmanager)
    finally:
        prometheus.stop()
        alertmanager.stop()
        await metrics.stop()


@asynccontextmanager
async def standalone_alertmanager(workdir: Path) -> AsyncIterator[Process]:
    """Just Alertmanager (no receivers in use), for its silences API."""
    _mkdir(workdir)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    (workdir / "alertmanager.yml").write_text(yaml.safe_dump({"route": {"receiver": "null"},
                                                              "receivers": [{"name": "null"}]}))
    process = Process("alertmanager", [
        ALERTMANAGER, f"--config.file={workdir / 'alertmanager.yml'}", f"--storage.path={workdir / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{port}", f"--web.external-url={url}", "--cluster.listen-address=",
    ], workdir / "alertmanager.log", url)
    try:
        await process.start()
        yield process
    finally:
        process.stop()
