"""Durable timers in PostgreSQL: schedule, cancel, and fire each exactly once across bot processes.

How a timer fires: one transaction claims the most overdue pending row (`FOR UPDATE SKIP LOCKED`, so
another process skips it), runs the handler inside a savepoint, and marks the row fired — or, when the
handler raised, counts the attempt and retries it after a backoff. A crash mid-handler rolls the whole
transaction back, so the timer is still pending for the next process that ticks. Handlers may write
through `timer.tx` so their effect (a timeline event, a queued Slack message) commits with the firing.

Handlers should be quick — queue work rather than do it — because the row stays locked while they run.
To re-arm its own timer from a handler, pass `tx=timer.tx` to `schedule(..., replace=True)`; doing it
on another connection would wait for the lock this very firing holds.

Slow work the handler needs first (HTTP checks, reading logs) goes in the kind's prepare step,
`on(kind, handler, prepare=fn)`, which runs with no transaction open and no row locked:
1. one short statement leases the due row: next_at moves to now + the kind's lease and the revision
   changes, so no process claims it meanwhile;
2. `prepare(timer)` runs (`timer.tx` is None) in a task of its own, off the workers that fire the quick
   kinds, so a slow prepare delays no escalation; it is cut off after half the lease;
3. a new transaction locks the row again and, if it is still pending at the lease's revision (not
   cancelled, re-armed, or leased by another process after this lease ran out), fires it as above with
   `handler(timer, prepared)`; otherwise the prepared result is dropped and nothing is recorded.
A prepare that raises is a failed attempt with the usual backoff. A process that dies mid-prepare leaves
the lease to run out, then any process prepares it again — so a prepare must have no side effects; only
step 3 records anything, once. A process that stops mid-prepare hands the lease back.
"""

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, overload

from bot.clock import Clock, SystemClock, require_aware
from bot.scheduler.kinds import Handler, Kind
from bot.scheduler.model import NewTimer, Timer, TimerState, Tx
from bot.store import timers as rows
from bot.store.db import Store
from bot.worker import BackgroundLoop

log = logging.getLogger(__name__)

P = TypeVar("P")


@dataclass(frozen=True)
class TickResult:
    fired: int = 0
    failed: int = 0  # attempts that raised (retried later, or given up)
    dropped: int = 0  # prepared, then found cancelled or re-armed meanwhile: nothing recorded

    def __add__(self, other: "TickResult") -> "TickResult":
        return TickResult(self.fired + other.fired, self.failed + other.failed, self.dropped + other.dropped)


class Scheduler:
    def __init__(self, store: Store, clock: Clock | None = None, *, poll_interval: float = 1.0,
                 concurrency: int = 4, max_attempts: int = 10, retry_base: timedelta = timedelta(seconds=10),
                 retry_max: timedelta = timedelta(minutes=10), lease: timedelta = timedelta(minutes=5),
                 max_preparing: int = 8, grace: float = 5.0) -> None:
        """`lease`: how long a prepared kind's timer is reserved for the process preparing it, unless the kind
        says otherwise (its prepare is cut off after half of it); `max_preparing`: how many prepares this
        process runs at once; `grace`: how long stop() lets a firing or a prepare in progress finish."""
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.poll_interval = poll_interval
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.lease = lease
        self.max_preparing = max_preparing
        if retry_base <= timedelta() or lease <= timedelta() or min(max_attempts, concurrency, max_preparing) < 1:
            raise ValueError("retry_base and lease must be positive, max_attempts, concurrency and max_preparing"
                             " at least 1")
        self._kinds: dict[str, Kind] = {}
        self._preparing: set[asyncio.Task[bool | None]] = set()
        self.grace = grace
        self._worker = BackgroundLoop(self._pass, name="timer-scheduler", grace=grace,
                                      after_failure=lambda: self.poll_interval, failure_message="timer tick failed",
                                      log=log)

    # -- registration and scheduling ------------------------------------------------------------------

    @overload
    def on(self, kind: str, handler: Handler) -> None: ...

    @overload
    def on(self, kind: str, handler: Callable[[Timer, P], Awaitable[None]], *,
           prepare: Callable[[Timer], Awaitable[P]], lease: timedelta | None = None) -> None: ...

    def on(self, kind: str, handler: Callable[..., Awaitable[None]], *,
           prepare: Callable[[Timer], Awaitable[Any]] | None = None, lease: timedelta | None = None) -> None:
        """Fire timers of `kind` with `handler`; timers of kinds nobody registered wait for a process that has.

        With `prepare`, the slow part runs first with no transaction open (see the module's docstring) and
        `handler(timer, prepared)` records what it returned. `lease` (default: the scheduler's) must be more
        than twice the longest the prepare takes.
        """
        if kind in self._kinds:
            raise ValueError(f"a handler for timer kind {kind!r} is already registered")
        if lease is not None and prepare is None:
            raise ValueError(f"timer kind {kind!r} has no prepare step, so nothing to lease: drop lease=")
        self._kinds[kind] = Kind.checked(kind, handler, prepare, self.lease if lease is None else lease)

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
        """True when a pending timer was cancelled (False: unknown, already done, or firing right now).

        A timer whose prepare step is running is not firing yet: it is cancelled, and what was prepared is dropped.
        """
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
        """Fire every timer due now, once, and wait for them all (prepared kinds too); a timer that fails
        waits for its backoff, not this tick."""
        return await self._tick(wait=True)

    async def _tick(self, *, wait: bool) -> TickResult:
        if not self._kinds:
            return TickResult()
        now = self.clock.now()
        # Prepares start first so that their slow part overlaps the quick firings.
        preparing = await self._start_prepared(now)
        result = await self._fire_quick(now)
        # The loop does not wait: the next pass fires what came due meanwhile. A tick driven by hand does,
        # and leases again for the prepared timers that were waiting for a free slot.
        while wait and preparing:
            outcomes = await asyncio.gather(*preparing)
            result += TickResult(outcomes.count(True), outcomes.count(False), outcomes.count(None))
            preparing = await self._start_prepared(now)
        return result

    async def _fire_quick(self, now: datetime) -> TickResult:
        kinds = sorted(kind for kind, k in self._kinds.items() if k.prepare is None)
        if not kinds:
            return TickResult()
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
            handler = self._kinds[timer.kind].handler
            _raise_if_cancelled()
            return await self._fire(tx, timer, handler, now)

    async def _fire(self, tx: Tx, timer: Timer, call: Handler, now: datetime) -> bool:
        """Run the handler on the locked row in a savepoint and mark it fired, or count the failed attempt."""
        try:
            async with tx.transaction():  # a savepoint: a failing handler's writes are undone
                await call(dataclasses.replace(timer, tx=tx))
        except Exception as exc:
            await self._failed(tx, timer, exc)
            return False
        if not await rows.mark_fired(tx, timer, self.clock.now()):
            log.info("timer re-armed by its handler", extra={"timer_key": timer.key, "kind": timer.kind})
        else:
            log.info("timer fired", extra={"timer_key": timer.key, "kind": timer.kind,
                                           "late_s": round((now - timer.due_at).total_seconds(), 3)})
        return True

    async def _failed(self, tx: Tx, timer: Timer, exc: Exception, step: str = "handler") -> None:
        now = self.clock.now()
        retry_at = now + self.backoff(timer.attempts + 1)
        error = f"{type(exc).__name__}: {exc}"
        gave_up = await rows.mark_failed(tx, timer, error, now, retry_at, self.max_attempts)
        extra = {"timer_key": timer.key, "kind": timer.kind, "attempt": timer.attempts + 1, "error": error}
        if gave_up:
            log.error(f"timer {step} failed for the last time; giving up", extra=extra, exc_info=exc)
        else:
            log.warning(f"timer {step} failed; will retry", extra={**extra, "retry_at": retry_at.isoformat()},
                        exc_info=exc)

    # -- firing with a prepare step ---------------------------------------------------------------------

    async def _start_prepared(self, now: datetime) -> list[asyncio.Task[bool | None]]:
        """Lease the due timers of prepared kinds (as many as there are free slots) and start firing each."""
        leases = sorted({k.lease for k in self._kinds.values() if k.prepare is not None})
        leased: list[Timer] = []
        for lease in leases:  # one statement per lease length: each row's lease ends after its own kind's
            free = self.max_preparing - len(self._preparing) - len(leased)
            if free < 1 or self._worker.stopping:
                break
            kinds = sorted(kind for kind, k in self._kinds.items() if k.prepare is not None and k.lease == lease)
            async with self.store.connection() as conn:
                leased += await rows.lease_due(conn, kinds, now, self.clock.now() + lease, free)
        started = []
        for timer in leased:
            task = asyncio.create_task(self._fire_prepared(timer), name=f"timer {timer.key}")
            self._preparing.add(task)
            task.add_done_callback(self._prepared_done)
            started.append(task)
        return started

    def _prepared_done(self, task: "asyncio.Task[bool | None]") -> None:
        self._preparing.discard(task)
        self._worker.wake()  # a slot is free: lease the next one now rather than at the next poll

    async def _fire_prepared(self, leased: Timer) -> bool | None:
        """Prepare with no transaction open, then fire as usual if the lease still holds: True fired, False
        failed, None dropped (cancelled, re-armed or taken over meanwhile, or the database failed)."""
        kind = self._kinds[leased.kind]
        try:
            try:
                prepared = await self._prepare(kind, leased)
            except Exception as exc:
                async with self.store.transaction() as tx:
                    current = await self._still_leased(tx, leased)
                    if current is None:
                        return None
                    await self._failed(tx, current, exc, step="prepare")
                    return False
            async with self.store.transaction() as tx:
                current = await self._still_leased(tx, leased)
                if current is None:
                    return None
                _raise_if_cancelled()
                return await self._fire(tx, current, lambda timer: kind.handler(timer, prepared), self.clock.now())
        except asyncio.CancelledError:
            await self._release(leased)
            raise
        except Exception:  # the database, not the timer's code (that is recorded as a failed attempt)
            log.exception("timer firing failed; it is tried again when its lease ends", extra={
                "timer_key": leased.key, "kind": leased.kind, "lease_until": leased.next_at.isoformat()})
            return None

    async def _prepare(self, kind: Kind, leased: Timer) -> Any:
        # Cut off well before the lease ends, so that recording it never races another process taking over.
        assert kind.prepare is not None
        limit = kind.lease.total_seconds() / 2
        deadline = asyncio.timeout(limit)
        try:
            async with deadline:
                return await kind.prepare(leased)
        except TimeoutError:
            if not deadline.expired():
                raise  # the prepare's own timeout, not ours
            raise TimeoutError(f"prepare took longer than {limit:g}s (half the {kind.lease} lease)") from None

    async def _still_leased(self, tx: Tx, leased: Timer) -> Timer | None:
        """The timer locked again, or None when what was prepared no longer applies to it."""
        current = await rows.lock(tx, leased.id)
        if current is not None and current.state is TimerState.PENDING and current.revision == leased.revision:
            return current
        log.info("timer cancelled, re-armed or taken over while being prepared; nothing recorded",
                 extra={"timer_key": leased.key, "kind": leased.kind,
                        "state": current.state.value if current else "deleted"})
        return None

    async def _release(self, leased: Timer) -> None:
        """Stopping mid-prepare: hand the timer back, due now, so the next process need not wait out the lease."""
        try:
            async with self.store.connection() as conn:
                await rows.release(conn, leased, self.clock.now())
        except Exception:  # it is still fired once the lease ends
            log.warning("could not hand back an interrupted timer; it fires when its lease ends",
                        extra={"timer_key": leased.key, "lease_until": leased.next_at.isoformat()}, exc_info=True)

    def backoff(self, attempt: int) -> timedelta:
        """Wait before retry number `attempt` (1-based): doubling from retry_base, capped at retry_max."""
        return min(self.retry_base * (2 ** min(attempt - 1, 30)), self.retry_max)

    # -- the loop ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._worker.start()

    async def stop(self) -> None:
        """Stop polling; a firing or prepare in progress finishes (or, past `grace`, is cancelled: a firing
        rolls back, a prepared timer is handed back).

        Afterwards tick() works again, e.g. for a test driving it by hand.
        """
        await self._worker.stop()
        if self._preparing:
            _, late = await asyncio.wait(set(self._preparing), timeout=self.grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    def wake(self) -> None:
        """Tick now rather than at the next poll (a test moved the clock, a timer was scheduled)."""
        self._worker.wake()

    async def _pass(self) -> float:
        await self._tick(wait=False)
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

