"""A throwaway redis-server on a free port; tests share it, each on its own db index."""

import itertools
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis

from tests.harness.net import free_port, port_open, wait_until

DATABASES = 1024


@dataclass
class RedisServer:
    base: Path
    port: int
    process: subprocess.Popen[bytes]
    _indexes: itertools.cycle = field(default_factory=lambda: itertools.cycle(range(1, DATABASES)))  # type: ignore[type-arg]

    @classmethod
    def start(cls) -> "RedisServer":
        base = Path(tempfile.mkdtemp(prefix="atl-redis-"))
        port = free_port()
        log = (base / "redis.log").open("wb")
        process = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--databases", str(DATABASES), "--dir", str(base), "--protected-mode", "no"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        server = cls(base, port, process)
        try:
            wait_until(lambda: port_open(port) or process.poll() is not None, 15, "redis-server")
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {(base / 'redis.log').read_text()[-500:]}")
        except Exception:
            server.stop()
            raise
        return server

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    async def fresh_url(self) -> str:
        """A URL with its own db index, flushed."""
        db = next(self._indexes)
        url = self.url(db)
        client = aioredis.Redis.from_url(url)
        try:
            await client.flushdb()
        finally:
            await client.aclose()
        return url

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.base, ignore_errors=True)
