"""A real Prometheus scraping a tiny aiohttp app whose metrics the test sets, every second.

The app speaks the NestJS API's metric names (runbooks/thresholds.yml): a Summary quantile
`http_request_duration_seconds{quantile="0.95"}` and `http_requests_total{status}` counters that grow
at `rps` requests per second with `error_ratio` of them 5xx — so the runbook's own PromQL works on it.
"""

import asyncio
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from tests.harness.net import free_port

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
    _runner: web.AppRunner | None = None

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
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@dataclass
class PrometheusServer:
    """prometheus on a free port scraping `targets` every second, storage in a temp dir."""

    dir: Path
    targets: list[str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict[str, Any]:
        return {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "scrape_configs": [{"job_name": "audio-tai-loc-api", "static_configs": [{"targets": self.targets}]}]}

    def launch(self) -> subprocess.Popen[bytes]:
        (self.dir / "prometheus.yml").write_text(yaml.safe_dump(self.config()))
        with (self.dir / "prometheus.log").open("wb") as log:
            return subprocess.Popen(
                [PROMETHEUS, f"--config.file={self.dir / 'prometheus.yml'}",
                 f"--storage.tsdb.path={self.dir / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}",
                 "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.dir, start_new_session=True,
            )

    async def start(self, timeout: float = 30) -> None:  # noqa: ASYNC109
        self.process = self.launch()
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"prometheus exited {self.process.returncode}:\n{self.log()[-3000:]}")
                try:
                    async with session.get(f"{self.url}/-/ready", timeout=aiohttp.ClientTimeout(total=1)) as resp:
                        if resp.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"prometheus not ready within {timeout}s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        path = self.dir / "prometheus.log"
        return path.read_text(errors="replace") if path.exists() else ""

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
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


async def prometheus_server(targets: list[str]) -> PrometheusServer:
    server = PrometheusServer(Path(tempfile.mkdtemp(prefix="atl-prom-")), targets)
    await server.start()
    return server
