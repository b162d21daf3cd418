"""`atl-bot` as a user runs it: the installed console script in a subprocess, a clean environment."""

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.harness.net import free_port

REPO = Path(__file__).resolve().parents[2]
# Variables DESIGN defines; none may leak from the developer's shell into a test.
DESIGN_VARS = (
    "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "DATABASE_URL", "REDIS_URL",
    "ATL_DATA_DIR", "ATL_CONFIG", "ALERTMANAGER_TOKEN", "PROMETHEUS_URL", "STATUSPAGE_API_KEY",
    "STATUSPAGE_PAGE_ID", "STATUSPAGE_API_URL",
)


def atl_bot_command() -> list[str]:
    script = Path(sys.executable).parent / "atl-bot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def clean_env(env: Mapping[str, str | None]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in DESIGN_VARS}
    base.update({k: v for k, v in env.items() if v is not None})
    return base


def run_cli(*args: str, env: Mapping[str, str | None] | None = None, cwd: Path | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `atl-bot ARGS` to completion."""
    return subprocess.run([*atl_bot_command(), *args], env=clean_env(env or {}), cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=timeout, check=False)


@dataclass
class ServeProcess:
    """`atl-bot serve` on a free port; stderr (the JSON log) goes to a file tests can read."""

    env: Mapping[str, str | None]
    workdir: Path
    cwd: Path = REPO
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stderr_path(self) -> Path:
        return self.workdir / f"serve-{self.port}.stderr"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.stderr_path.open("ab") as err:
            self.process = subprocess.Popen(
                [*atl_bot_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=clean_env(self.env), cwd=self.cwd, stdout=subprocess.DEVNULL, stderr=err,
                start_new_session=True,
            )

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace") if self.stderr_path.exists() else ""

    async def wait_ready(self, timeout: float = 90) -> None:  # noqa: ASYNC109
        """Until /readyz answers 200; fails with the log if the process dies or never gets ready."""
        assert self.process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last = "no answer"
        async with aiohttp.ClientSession() as session:
            while loop.time() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"atl-bot serve exited {self.process.returncode}:\n{self.stderr()[-3000:]}")
                try:
                    async with session.get(self.url + "/readyz", timeout=aiohttp.ClientTimeout(total=3)) as resp:
                        if resp.status == 200:
                            return
                        last = f"{resp.status} {await resp.text()}"
                except (aiohttp.ClientError, TimeoutError) as exc:
                    last = repr(exc)
                await asyncio.sleep(0.2)
        raise AssertionError(f"atl-bot serve not ready after {timeout}s ({last}):\n{self.stderr()[-3000:]}")

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, as an operator or a supervisor would; returns the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode

    async def astop(self, timeout: float = 30) -> int:  # noqa: ASYNC109
        return await asyncio.to_thread(self.stop, timeout)
