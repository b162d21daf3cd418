"""What every fake and real test server shares: serving an aiohttp app on 127.0.0.1, and running a
binary (Prometheus, Alertmanager) until its `/-/ready` answers."""

import asyncio
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web


class AppServer:
    """One aiohttp app on 127.0.0.1:`port`, for a fake that builds the app; stop() is safe twice."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None

    async def start(self, app: web.Application, port: int) -> None:
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@dataclass
class ReadyProcess:
    """A server binary writing to `log`, ready when `{url}/-/ready` answers 200 (Prometheus's convention)."""

    name: str
    args: list[str]
    log: Path
    url: str
    proc: subprocess.Popen[bytes] | None = None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def _spawn(self) -> subprocess.Popen[bytes]:
        with self.log.open("wb") as out:
            # Its own session: a Ctrl-C aimed at pytest does not kill it before the fixture's stop().
            return subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT, cwd=self.log.parent,
                                    start_new_session=True)

    async def start(self, timeout: float = 30) -> None:  # noqa: ASYNC109
        self.proc = self._spawn()
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.log_text()[-3000:]}")
                try:
                    async with session.get(f"{self.url}/-/ready", timeout=aiohttp.ClientTimeout(total=1)) as resp:
                        if resp.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready within {timeout}s:\n{self.log_text()[-3000:]}")

    def stop(self, timeout: float = 15) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
