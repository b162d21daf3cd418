"""A real Prometheus scraping a tiny aiohttp app whose metrics the test sets, every second.

The app speaks the NestJS API's metric names (runbooks/thresholds.yml): a Summary quantile
`http_request_duration_seconds{quantile="0.95"}` and `http_requests_total{status}` counters that grow
at `rps` requests per second with `error_ratio` of them 5xx — so the runbook's own PromQL works on it.
"""

import asyncio
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from tests.harness.net import free_port
from tests.harness.servers import AppServer, ReadyProcess

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


@dataclass
class MetricsApp:
    """Set p95_s, rps and error_ratio; counters integrate them over time between scrapes."""

    p95_s: float = 0.1
    rps: float = 100.0
    error_ratio: float = 0.0
    instance: str = "api-blue:3000"
    port: int = field(default_factory=free_port)
    ok_total: float = 0.0
    error_total: float = 0.0
    _last: float = field(default_factory=time.monotonic)
    _server: AppServer = field(default_factory=AppServer, repr=False)

    def _advance(self) -> None:
        now = time.monotonic()
        elapsed, self._last = now - self._last, now
        self.ok_total += self.rps * (1 - self.error_ratio) * elapsed
        self.error_total += self.rps * self.error_ratio * elapsed

    def set(self, *, p95_s: float | None = None, rps: float | None = None, error_ratio: float | None = None) -> None:
        self._advance()  # what accrued so far accrued at the old rates
        if p95_s is not None:
            self.p95_s = p95_s
        if rps is not None:
            self.rps = rps
        if error_ratio is not None:
            self.error_ratio = error_ratio

    def exposition(self) -> str:
        self._advance()
        labels = f'instance="{self.instance}"'
        return (
            "# TYPE http_request_duration_seconds summary\n"
            f'http_request_duration_seconds{{quantile="0.95",route="/api/products",{labels}}} {self.p95_s}\n'
            "# TYPE http_requests_total counter\n"
            f'http_requests_total{{status="200",{labels}}} {self.ok_total:.3f}\n'
            f'http_requests_total{{status="500",{labels}}} {self.error_total:.3f}\n'
        )

    async def _metrics(self, _: web.Request) -> web.Response:
        return web.Response(text=self.exposition(), content_type="text/plain")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        await self._server.start(app, self.port)

    async def stop(self) -> None:
        await self._server.stop()


@dataclass
class PrometheusServer:
    """prometheus on a free port scraping `targets` every second, storage in a temp dir.

    With `rules` it evaluates them every second and, with `alertmanager` (host:port), sends the alerts
    there, re-sending after 1 s rather than 1 min so alert tests see changes in seconds.
    """

    dir: Path
    targets: list[str]
    port: int = field(default_factory=free_port)
    job: str = "audio-tai-loc-api"
    rules: dict[str, Any] | None = None
    alertmanager: str | None = None
    process: ReadyProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [{"job_name": self.job, "static_configs": [{"targets": self.targets}]}]}
        if self.rules is not None:
            config["rule_files"] = [str(self.dir / "rules.yml")]
        if self.alertmanager is not None:
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [self.alertmanager]}]}]}
        return config

    async def start(self, timeout: float = 30) -> None:  # noqa: ASYNC109
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.rules is not None:
            (self.dir / "rules.yml").write_text(yaml.safe_dump(self.rules))
        (self.dir / "prometheus.yml").write_text(yaml.safe_dump(self.config()))
        args = [PROMETHEUS, f"--config.file={self.dir / 'prometheus.yml'}", f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}", f"--web.external-url={self.url}", "--log.level=warn"]
        if self.alertmanager is not None:
            args.append("--rules.alert.resend-delay=1s")
        self.process = ReadyProcess("prometheus", args, self.dir / "prometheus.log", self.url)
        await self.process.start(timeout)

    async def query(self, promql: str) -> list[dict[str, Any]]:
        async with aiohttp.ClientSession() as session, session.get(
            f"{self.url}/api/v1/query", params={"query": promql}, timeout=aiohttp.ClientTimeout(total=5)
        ) as resp:
            body = await resp.json()
        return list(body["data"]["result"])

    async def wait_for_value(self, promql: str, predicate: Any, timeout: float = 20) -> float:  # noqa: ASYNC109
        """Until the query's first value satisfies `predicate` (Prometheus has scraped what the test set)."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            result = await self.query(promql)
            if result:
                last = float(result[0]["value"][1])
                if predicate(last):
                    return last
            await asyncio.sleep(0.25)
        raise AssertionError(f"{promql} never satisfied the condition within {timeout}s (last value {last})")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


async def prometheus_server(targets: list[str]) -> PrometheusServer:
    server = PrometheusServer(Path(tempfile.mkdtemp(prefix="atl-prom-")), targets)
    await server.start()
    return server
