"""A steady load through nginx: requests at a fixed rate, every failure and every version seen recorded.

A failure is anything a user would notice: a connection error, a timeout, or a status other than 200.
"""

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field

import aiohttp


@dataclass
class LoadReport:
    sent: int = 0
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    versions: Counter[str] = field(default_factory=Counter)
    # (seconds since start, version) whenever the served version changes
    changes: list[tuple[float, str]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failures)


@dataclass
class LoadGenerator:
    """`async with LoadGenerator(url, rps=100) as load: …` then read `load.report`."""

    url: str
    rps: float = 100.0
    timeout_s: float = 5.0
    report: LoadReport = field(default_factory=LoadReport)
    _task: asyncio.Task[None] | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _inflight: set[asyncio.Task[None]] = field(default_factory=set)

    async def _one(self, session: aiohttp.ClientSession, started: float) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with session.get(self.url, timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as resp:
                text = await resp.text()
                if resp.status != 200:
                    self.report.failures.append(f"{loop.time() - started:.2f}s: status {resp.status}: {text[:200]}")
                    return
                version = str(json.loads(text).get("version"))
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            self.report.failures.append(f"{loop.time() - started:.2f}s: {type(exc).__name__}: {exc}")
            return
        self.report.ok += 1
        if not self.report.changes or self.report.changes[-1][1] != version:
            self.report.changes.append((round(loop.time() - started, 3), version))
        self.report.versions[version] += 1

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        # No keep-alive: every request is a new connection, the case a reload must not break.
        connector = aiohttp.TCPConnector(force_close=True, limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            tick = 0
            while not self._stop.is_set():
                task = asyncio.create_task(self._one(session, started))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
                self.report.sent += 1
                tick += 1
                delay = started + tick / self.rps - loop.time()
                if delay > 0:
                    try:
                        await asyncio.wait_for(self._stop.wait(), delay)
                    except TimeoutError:
                        pass
            if self._inflight:
                await asyncio.gather(*self._inflight)

    async def __aenter__(self) -> "LoadGenerator":
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
