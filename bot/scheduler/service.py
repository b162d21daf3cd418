"""Durable timers in PostgreSQL: schedule, cancel, and fire each exactly once across bot processes.

How a timer fires: one transaction claims the most overdue pending row (`FOR UPDATE SKIP LOCKED`, so
another process skips it), runs the handler inside a savepoint, and marks the row fired — or, when the
handler raised, counts the attempt and retries it after a backoff. A crash mid-handler rolls the whole
transaction back, so the timer is still pending for the next process that ticks. Handlers may write
through `timer.tx` so their effect (a timeline event, a queued Slack message) commits with the firing.

Handlers should be quick — queue work rather than do it — because the row stays locked while they run.
To re-arm its own timer from a handler, pass `tx=timer.tx` to `schedule(..., replace=True)`; doing it
on another connection would wait for the lock this very firing holds.
"""

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock, SystemClock, require_aware
from bot.scheduler.model import NewTimer, Timer, Tx
from bot.store import timers as rows
from bot.store.db import Store
from bot.worker import BackgroundLoop

log = logging.getLogger(__name__)

Handler = Callable[[Timer], Awaitable[None]]


@dataclass(frozen=True)
class TickResult:
    fired: int = 0
    failed: int = 0  # attempts that raised (retried later, or given up)


class Scheduler:
    def __init__(self, store: Store, clock: Clock | None = None, *, poll_interval: float = 1.0,
                 concurrency: int = 4, max_attempts: int = 10, retry_base: timedelta = timedelta(seconds=10),
                 retry_max: timedelta = timedelta(minutes=10)) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.poll_interval = poll_interval
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.retry_max = retry_max
        if retry_base <= timedelta() or max_attempts < 1 or concurrency < 1:
            raise ValueError("retry_base must be positive, max_attempts and concurrency at least 1")
        self._handlers: dict[str, Handler] = {}
        self._worker = BackgroundLoop(self._pass, name="timer-scheduler", grace=5,
                                    after_failure=lambda: self.poll_interval, failure_message="timer tick failed",
                                    log=log)

    # -- registration and scheduling ------------------------------------------------------------------

    def on(self, kind: str, handler: Handler) -> None:
        """Fire timers of `kind` with `handler`; timers of kinds nobody registered wait for a process that has."""
        if kind in self._handlers:
            raise ValueError(f"a handler for timer kind {kind!r} is already registered")
        if not callable(handler):
            raise TypeError(f"handler for {kind!r} must be an async callable taking the timer")
        self._handlers[kind] = handler

    async def schedule(self, kind: str, due_at: datetime, payload: dict[str, Any] | None = None, *, key: str,
                       incident_id: int | None = None, run_id: int | None = None, replace: bool = False,
                       tx: Tx | None = None) -> Timer:
        """Make sure the timer `key` exists; returns it as stored.

        Without `replace`, an existing timer with this key (pending, fired or cancelled) is left as it is,
        so re-running "arm this incident's timers" after a restart is safe. With `replace`, it is re-armed
        for `due_at` with the new payload, whatever its state. Pass `tx` to schedule atomically with the
        caller's own writes.
        """
        require_aware(due_at)
        if not kind or not key:
            raise ValueError("a timer needs a kind and a key")
        new = NewTimer(kind, key, due_at, payload or {}, incident_id, run_id)
        async with self._conn(tx) as conn:
            if replace:
                timer = await rows.replace(conn, new)
            else:
                timer, _ = await rows.insert(conn, new)
        self._worker.wake()
        return timer

    async def cancel(self, key: str, *, tx: Tx | None = None) -> bool:
        """True when a pending timer was cancelled (False: unknown, already done, or firing right now)."""
        async with self._conn(tx) as conn:
            return await rows.cancel_key(conn, key, self.clock.now())

    async def cancel_for_incident(self, incident_id: int, *, kinds: list[str] | None = None,
                                  tx: Tx | None = None) -> int:
        """Cancel the incident's pending timers (of `kinds`, or all); returns how many."""
        async with self._conn(tx) as conn:
            return await rows.cancel_incident(conn, incident_id, self.clock.now(), kinds)

    async def cancel_for_run(self, run_id: int, *, kinds: list[str] | None = None, tx: Tx | None = None) -> int:
        async with self._conn(tx) as conn:
            return await rows.cancel_run(conn, run_id, self.clock.now(), kinds)

    async def get(self, key: str) -> Timer | None:
        async with self.store.connection() as conn:
            return await rows.get(conn, key)

    async def pending(self, *, incident_id: int | None = None, run_id: int | None = None) -> list[Timer]:
        async with self.store.connection() as conn:
            return await rows.pending(conn, incident_id=incident_id, run_id=run_id)

    @asynccontextmanager
    async def _conn(self, tx: Tx | None) -> AsyncIterator[Tx]:
        if tx is not None:
            yield tx
        else:
            async with self.store.connection() as conn:
                yield conn

    # -- firing -----------------------------------------------------------------------------------------

    async def tick(self) -> TickResult:
        """Fire every timer due now, once; a timer that fails waits for its backoff, not this tick."""
        if not self._handlers:
            return TickResult()
        now = self.clock.now()
        kinds = sorted(self._handlers)
        # A task group, not gather: when the tick is cancelled (stop, shutdown) it waits until every worker
        # has rolled its transaction back, so no firing is left holding a row lock.
        try:
            async with asyncio.TaskGroup() as group:
                workers = [group.create_task(self._drain(kinds, now)) for _ in range(self.concurrency)]
        except ExceptionGroup as failed:  # a database error, not a handler's (those are recorded)
            raise failed.exceptions[0] from failed
        results = [w.result() for w in workers]
        return TickResult(sum(r.fired for r in results), sum(r.failed for r in results))

    async def _drain(self, kinds: list[str], now: datetime) -> TickResult:
        fired = failed = 0
        while not self._worker.stopping:
            outcome = await self._fire_next(kinds, now)
            if outcome is None:
                return TickResult(fired, failed)
            fired += outcome
            failed += not outcome
        return TickResult(fired, failed)

    async def _fire_next(self, kinds: list[str], now: datetime) -> bool | None:
        """Claim and fire one due timer: True fired, False failed, None when nothing is due."""
        async with self.store.transaction() as tx:
            timer = await rows.claim_next(tx, kinds, now)
            if timer is None:
                return None
            handler = self._handlers[timer.kind]
            _raise_if_cancelled()
            try:
                async with tx.transaction():  # a savepoint: a failing handler's writes are undone
                    await handler(dataclasses.replace(timer, tx=tx))
            except Exception as exc:
                await self._failed(tx, timer, exc)
                return False
            if not await rows.mark_fired(tx, timer, self.clock.now()):
                log.info("timer re-armed by its handler", extra={"timer_key": timer.key, "kind": timer.kind})
            else:
                log.info("timer fired", extra={"timer_key": timer.key, "kind": timer.kind,
                                               "late_s": round((now - timer.due_at).total_seconds(), 3)})
            return True

    async def _failed(self, tx: Tx, timer: Timer, exc: Exception) -> None:
        now = self.clock.now()
        retry_at = now + self.backoff(timer.attempts + 1)
        error = f"{type(exc).__name__}: {exc}"
        gave_up = await rows.mark_failed(tx, timer, error, now, retry_at, self.max_attempts)
        extra = {"timer_key": timer.key, "kind": timer.kind, "attempt": timer.attempts + 1, "error": error}
        if gave_up:
            log.error("timer handler failed for the last time; giving up", extra=extra, exc_info=exc)
        else:
            log.warning("timer handler failed; will retry", extra={**extra, "retry_at": retry_at.isoformat()},
                        exc_info=exc)

    def backoff(self, attempt: int) -> timedelta:
        """Wait before retry number `attempt` (1-based): doubling from retry_base, capped at retry_max."""
        return min(self.retry_base * (2 ** min(attempt - 1, 30)), self.retry_max)

    # -- the loop ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._worker.start()

    async def stop(self) -> None:
        """Stop polling; a firing in progress finishes (or, past 5 s, is cancelled and rolled back).

        Afterwards tick() works again, e.g. for a test driving it by hand.
        """
        await self._worker.stop()

    def wake(self) -> None:
        """Tick now rather than at the next poll (a test moved the clock, a timer was scheduled)."""
        self._worker.wake()

    async def _pass(self) -> float:
        await self.tick()
        return self.poll_interval


def _raise_if_cancelled() -> None:
    """Honour a cancellation that was swallowed on the way here.

    On Python 3.11, asyncio.wait_for (which the connection pool uses) can return its result and drop a
    cancellation that arrived at the same moment. A cancelled worker would then fire a timer that a
    process shutting down should leave for the next one.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError

