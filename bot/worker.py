"""One background task that runs passes until stopped: the shape shared by the scheduler, the Slack
outbox and the alert processor.

Each pass returns how long to wait before the next one; `wake()` cuts that wait short (new work was
committed). A pass that raises is logged and the loop carries on — the work is durable rows, still
there for the next pass. `stop()` lets the pass in progress finish within `grace` seconds, then
cancels it (its transaction rolls back).
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

Pass = Callable[[], Awaitable[float]]


class BackgroundLoop:
    def __init__(self, run_pass: Pass, *, name: str, grace: float, after_failure: Callable[[], float],
                 failure_message: str, log: logging.Logger) -> None:
        """`run_pass` returns seconds to wait for a wake (0 or less: run again now); `after_failure` says
        how long to wait after a pass raised. Failures are logged on the owner's `log`."""
        self._pass = run_pass
        self.name = name
        self.grace = grace
        self._after_failure = after_failure
        self._failure_message = failure_message
        self._log = log
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.stopping = False  # passes that loop internally check this to give up early

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        if self._task is None:
            self.stopping = False
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is None:
            return
        self.stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=self.grace)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
        self.stopping = False  # a pass driven by hand (a test calling tick()) runs in full again

    async def _run(self) -> None:
        while not self.stopping:
            self._wake.clear()
            try:
                delay = await self._pass()
            except Exception:  # a database hiccup must not end the loop; the rows are still there
                self._log.exception(self._failure_message)
                delay = self._after_failure()
            if self.stopping:
                break
            if delay <= 0:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
