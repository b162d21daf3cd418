"""A timer kind with a slow prepare step (the P1 diagnostics: seconds of HTTP checks) gathers with no
transaction open and no row locked, never holds up the quick timers, and still records its effect once:
not when it was cancelled or re-armed meanwhile, not twice when two processes (or a process whose lease
ran out) prepare it, and after a backoff when the prepare failed."""

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from bot.clock import ManualClock
from bot.scheduler import Scheduler, Timer, TimerState
from bot.store.db import Store
from tests.conftest import OpenStore
from tests.scheduler.conftest import START, Recorder

DIAGNOSTICS = "incident.diagnostics"


class SlowChecks:
    """A prepare that runs until the test lets it finish, like diagnostics waiting on a slow /health."""

    def __init__(self, result: str = "1/1 environments healthy") -> None:
        self.result = result
        self.started = asyncio.Event()
        self.finish = asyncio.Event()
        self.seen: list[Timer] = []

    async def __call__(self, timer: Timer) -> str:
        self.seen.append(timer)
        self.started.set()
        await self.finish.wait()
        return self.result

    async def wait_started(self) -> None:
        await asyncio.wait_for(self.started.wait(), timeout=10)


class Findings:
    """The quick handler: records what the prepare found, as the diagnostics timer posts it."""

    def __init__(self) -> None:
        self.recorded: list[tuple[Timer, Any]] = []
        self.done = asyncio.Event()

    async def __call__(self, timer: Timer, prepared: Any) -> None:
        self.recorded.append((timer, prepared))
        self.done.set()


def quick_checks(result: str) -> Callable[[Timer], Awaitable[str]]:
    async def checks(timer: Timer) -> str:
        return result

    return checks


async def lockable_elsewhere(url: str, key: str) -> bool:
    """Whether another connection can lock the timer's row right now without waiting."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        try:
            async with conn.transaction():
                await conn.execute("SELECT id FROM timers WHERE key = %s FOR UPDATE NOWAIT", (key,))
        except psycopg.errors.LockNotAvailable:
            return False
    return True


async def open_transactions(url: str) -> list[tuple[Any, ...]]:
    """Other backends on this database inside a transaction, or holding any lock on the timers table."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT a.pid, a.state, l.mode FROM pg_stat_activity a"
            " LEFT JOIN pg_locks l ON l.pid = a.pid AND l.relation = 'timers'::regclass"
            " WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
            " AND (a.state LIKE 'idle in transaction%%' OR l.pid IS NOT NULL)")
        return list(await cur.fetchall())


async def test_prepare_runs_with_no_transaction_open_and_the_handler_records_its_result(
        scheduler: Scheduler, store: Store, clock: ManualClock) -> None:
    checks, findings = SlowChecks(), Findings()
    scheduler.on(DIAGNOSTICS, findings, prepare=checks)
    await scheduler.schedule(DIAGNOSTICS, START, {"severity": "P1"}, key="incident:1:diagnostics:0")

    tick = asyncio.create_task(scheduler.tick())
    await checks.wait_started()
    # Mid-prepare: the row is free for anyone to lock, and the scheduler holds no transaction open.
    free_while_preparing = await lockable_elsewhere(store.url, "incident:1:diagnostics:0")
    held_while_preparing = await open_transactions(store.url)
    leased = await scheduler.get("incident:1:diagnostics:0")
    checks.finish.set()
    result = await tick

    assert free_while_preparing is True
    assert held_while_preparing == []
    assert leased is not None and leased.state is TimerState.PENDING
    assert leased.next_at == START + scheduler.lease  # no other process claims it while it is prepared
    [prepared_for] = checks.seen
    assert prepared_for.tx is None and prepared_for.payload == {"severity": "P1"}
    [(timer, prepared)] = findings.recorded
    assert prepared == "1/1 environments healthy"
    assert timer.tx is not None and timer.key == "incident:1:diagnostics:0"
    assert (result.fired, result.failed, result.dropped) == (1, 0, 0)
    stored = await scheduler.get("incident:1:diagnostics:0")
    assert stored is not None and stored.state is TimerState.FIRED and stored.attempts == 1


async def test_a_quick_timer_fires_while_a_slow_prepare_runs(scheduler: Scheduler, clock: ManualClock) -> None:
    checks, findings = SlowChecks(), Findings()
    paged = asyncio.Event()

    async def escalate(timer: Timer) -> None:
        paged.set()

    scheduler.poll_interval = 0.05
    scheduler.on(DIAGNOSTICS, findings, prepare=checks)
    scheduler.on("incident.escalate", escalate)
    await scheduler.schedule(DIAGNOSTICS, START, key="incident:2:diagnostics:0")
    await scheduler.start()
    try:
        await checks.wait_started()
        # Comes due while the checks are still running: the loop fires it without waiting for them.
        await scheduler.schedule("incident.escalate", START, key="incident:3:escalate")
        await asyncio.wait_for(paged.wait(), timeout=10)
        recorded_before_the_checks_ended = list(findings.recorded)
        checks.finish.set()
        await asyncio.wait_for(findings.done.wait(), timeout=10)
    finally:
        checks.finish.set()
        await scheduler.stop()

    assert recorded_before_the_checks_ended == []
    assert [prepared for _, prepared in findings.recorded] == ["1/1 environments healthy"]
    escalation = await scheduler.get("incident:3:escalate")
    assert escalation is not None and escalation.state is TimerState.FIRED


async def test_a_timer_cancelled_while_preparing_records_nothing(scheduler: Scheduler, clock: ManualClock) -> None:
    checks, findings = SlowChecks(), Findings()
    scheduler.on(DIAGNOSTICS, findings, prepare=checks)
    await scheduler.schedule(DIAGNOSTICS, START, key="incident:4:diagnostics:0")

    tick = asyncio.create_task(scheduler.tick())
    await checks.wait_started()
    cancelled = await scheduler.cancel("incident:4:diagnostics:0")  # the incident was resolved meanwhile
    checks.finish.set()
    result = await tick

    assert cancelled is True  # not "firing right now": nothing is locked while it prepares
    assert findings.recorded == []
    assert (result.fired, result.failed, result.dropped) == (0, 0, 1)
    stored = await scheduler.get("incident:4:diagnostics:0")
    assert stored is not None and stored.state is TimerState.CANCELLED and stored.attempts == 0


async def test_a_timer_rearmed_while_preparing_fires_at_its_new_time_with_its_new_payload(
        scheduler: Scheduler, clock: ManualClock) -> None:
    checks, findings = SlowChecks(), Findings()
    scheduler.on(DIAGNOSTICS, findings, prepare=checks)
    await scheduler.schedule(DIAGNOSTICS, START, {"reopened": 0}, key="incident:5:diagnostics")

    tick = asyncio.create_task(scheduler.tick())
    await checks.wait_started()
    await scheduler.schedule(DIAGNOSTICS, START + timedelta(minutes=1), {"reopened": 1},
                             key="incident:5:diagnostics", replace=True)
    checks.finish.set()
    dropped = await tick
    clock.advance(minutes=1)
    fired = await scheduler.tick()  # prepared again, for the re-armed timer

    assert (dropped.fired, dropped.dropped) == (0, 1)
    assert [t.payload for t in checks.seen] == [{"reopened": 0}, {"reopened": 1}]
    assert [t.payload for t, _ in findings.recorded] == [{"reopened": 1}]
    assert fired.fired == 1


async def test_two_processes_fire_each_prepared_timer_exactly_once(open_store: OpenStore,
                                                                   clock: ManualClock) -> None:
    recorded_by: dict[str, list[str]] = {"a": [], "b": []}
    prepared_by: dict[str, list[str]] = {"a": [], "b": []}

    def process(store: Store, name: str) -> Scheduler:
        async def checks(timer: Timer) -> str:
            prepared_by[name].append(timer.key)
            await asyncio.sleep(0)  # let the other process interleave
            return name

        async def record(timer: Timer, prepared: str) -> None:
            await asyncio.sleep(0)
            recorded_by[prepared].append(timer.key)

        scheduler = Scheduler(store, clock, max_preparing=4)
        scheduler.on(DIAGNOSTICS, record, prepare=checks)
        return scheduler

    async with open_store() as store_a, open_store() as store_b:
        a, b = process(store_a, "a"), process(store_b, "b")
        keys = [f"incident:{n}:diagnostics:0" for n in range(60)]
        for n, key in enumerate(keys):
            await a.schedule(DIAGNOSTICS, START + timedelta(seconds=n % 20), key=key)
        clock.advance(seconds=30)
        await asyncio.gather(a.tick(), b.tick(), a.tick(), b.tick())
        pending = await a.pending()

    recorded = Counter(recorded_by["a"] + recorded_by["b"])
    assert pending == []
    assert sorted(recorded) == sorted(keys)
    assert set(recorded.values()) == {1}, [k for k, n in recorded.items() if n > 1]
    # Each was prepared once too: a lease keeps the other process away while it runs.
    assert Counter(prepared_by["a"] + prepared_by["b"]) == recorded
    assert recorded_by["a"] and recorded_by["b"]  # both took part


async def test_when_a_lease_runs_out_another_process_fires_it_and_the_late_one_records_nothing(
        open_store: OpenStore, clock: ManualClock) -> None:
    async with open_store() as store_a, open_store() as store_b:
        stuck, stuck_findings = SlowChecks("from the stuck process"), Findings()
        a = Scheduler(store_a, clock)
        a.on(DIAGNOSTICS, stuck_findings, prepare=stuck)
        await a.schedule(DIAGNOSTICS, START, key="incident:6:diagnostics:0")
        late = asyncio.create_task(a.tick())
        await stuck.wait_started()

        b = Scheduler(store_b, clock)
        next_checks, findings = SlowChecks("from the next process"), Findings()
        b.on(DIAGNOSTICS, findings, prepare=next_checks)
        before_the_lease_ends = await b.tick()
        clock.advance(a.lease + timedelta(seconds=1))
        taking_over = asyncio.create_task(b.tick())
        await next_checks.wait_started()
        # The stuck process comes back while the next one is still preparing: its lease is gone.
        stuck.finish.set()
        too_late = await late
        next_checks.finish.set()
        taken_over = await taking_over
        stored = await b.get("incident:6:diagnostics:0")

    assert before_the_lease_ends.fired == 0 and taken_over.fired == 1
    assert [prepared for _, prepared in findings.recorded] == ["from the next process"]
    assert stuck_findings.recorded == [] and (too_late.fired, too_late.dropped) == (0, 1)
    assert stored is not None and stored.state is TimerState.FIRED and stored.attempts == 1


async def test_a_prepare_that_raises_is_retried_with_backoff(scheduler: Scheduler, clock: ManualClock) -> None:
    attempts: list[int] = []
    findings = Findings()

    async def checks(timer: Timer) -> str:
        attempts.append(timer.attempts)
        if len(attempts) < 3:
            raise ConnectionError("prometheus unreachable")
        return "healthy"

    scheduler.on(DIAGNOSTICS, findings, prepare=checks)
    await scheduler.schedule(DIAGNOSTICS, START, key="incident:7:diagnostics:0")

    first = await scheduler.tick()
    after_one = await scheduler.get("incident:7:diagnostics:0")
    assert (first.fired, first.failed) == (0, 1)
    assert after_one is not None and after_one.state is TimerState.PENDING and after_one.attempts == 1
    assert after_one.last_error == "ConnectionError: prometheus unreachable"
    assert after_one.next_at == START + timedelta(seconds=10)

    assert (await scheduler.tick()).failed == 0  # still backing off: not tried
    clock.advance(seconds=10)
    await scheduler.tick()
    after_two = await scheduler.get("incident:7:diagnostics:0")
    assert after_two is not None and after_two.next_at == clock.now() + timedelta(seconds=20)
    clock.advance(seconds=20)
    await scheduler.tick()
    done = await scheduler.get("incident:7:diagnostics:0")

    assert attempts == [0, 1, 2]
    assert [prepared for _, prepared in findings.recorded] == ["healthy"]
    assert done is not None and done.state is TimerState.FIRED and done.attempts == 3


async def test_a_failing_handler_prepares_again_on_its_retry(scheduler: Scheduler, clock: ManualClock) -> None:
    prepared_times = 0
    recorded: list[int] = []

    async def checks(timer: Timer) -> int:
        nonlocal prepared_times
        prepared_times += 1
        return prepared_times

    async def record(timer: Timer, prepared: int) -> None:
        assert timer.tx is not None
        await scheduler.schedule("follow.up", clock.now() + timedelta(hours=1), key=f"follow-up-{prepared}",
                                 tx=timer.tx)
        if prepared == 1:
            raise RuntimeError("Slack outbox unavailable")
        recorded.append(prepared)

    scheduler.on(DIAGNOSTICS, record, prepare=checks)
    await scheduler.schedule(DIAGNOSTICS, START, key="incident:8:diagnostics:0")
    first = await scheduler.tick()
    clock.advance(seconds=10)
    second = await scheduler.tick()

    assert (first.failed, second.fired) == (1, 1) and recorded == [2]
    assert await scheduler.get("follow-up-1") is None  # the failed attempt's writes were rolled back
    assert await scheduler.get("follow-up-2") is not None


async def test_a_prepare_that_never_ends_is_cut_off_at_half_its_lease(scheduler: Scheduler,
                                                                       clock: ManualClock) -> None:
    scheduler.on(DIAGNOSTICS, Findings(), prepare=SlowChecks(), lease=timedelta(seconds=0.2))
    await scheduler.schedule(DIAGNOSTICS, START, key="incident:9:diagnostics:0")

    result = await scheduler.tick()
    stored = await scheduler.get("incident:9:diagnostics:0")

    assert result.failed == 1
    assert stored is not None and stored.state is TimerState.PENDING and stored.attempts == 1
    assert stored.last_error == "TimeoutError: prepare took longer than 0.1s (half the 0:00:00.200000 lease)"
    assert stored.next_at == START + scheduler.backoff(1)


async def test_each_prepared_kind_is_leased_for_its_own_time(scheduler: Scheduler, clock: ManualClock) -> None:
    logs, checks = SlowChecks(), SlowChecks()
    scheduler.on("incident.logs", Findings(), prepare=logs, lease=timedelta(minutes=20))
    scheduler.on(DIAGNOSTICS, Findings(), prepare=checks)
    await scheduler.schedule("incident.logs", START, key="incident:11:logs")
    await scheduler.schedule(DIAGNOSTICS, START, key="incident:11:diagnostics:0")

    tick = asyncio.create_task(scheduler.tick())
    await logs.wait_started()
    await checks.wait_started()
    leased = {t.key: t.next_at for t in await scheduler.pending()}
    logs.finish.set()
    checks.finish.set()
    result = await tick

    assert leased == {"incident:11:logs": START + timedelta(minutes=20),
                      "incident:11:diagnostics:0": START + scheduler.lease}
    assert result.fired == 2


async def test_a_process_stopping_mid_prepare_hands_the_timer_back(open_store: OpenStore,
                                                                    clock: ManualClock) -> None:
    async with open_store() as stopping_store:
        stopping = Scheduler(stopping_store, clock, poll_interval=0.05, grace=0.1)
        checks = SlowChecks()
        stopping.on(DIAGNOSTICS, Findings(), prepare=checks)
        await stopping.schedule(DIAGNOSTICS, START, key="incident:10:diagnostics:0")
        await stopping.start()
        await checks.wait_started()
        await stopping.stop()  # a deploy restarts the bot while the checks run
        handed_back = await stopping.get("incident:10:diagnostics:0")

    async with open_store() as next_store:
        restarted = Scheduler(next_store, clock)
        findings = Findings()
        restarted.on(DIAGNOSTICS, findings, prepare=quick_checks("healthy"))
        result = await restarted.tick()  # the clock has not moved: no waiting out the lease

    assert handed_back is not None and handed_back.state is TimerState.PENDING and handed_back.next_at == START
    assert result.fired == 1 and len(findings.recorded) == 1


async def test_a_prepared_kind_without_a_matching_handler_is_refused(scheduler: Scheduler) -> None:
    async def takes_only_the_timer(timer: Timer) -> None: ...

    checks = quick_checks("ok")
    with pytest.raises(TypeError, match="taking the timer and what prepare returned"):
        scheduler.on(DIAGNOSTICS, takes_only_the_timer, prepare=checks)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"prepare for 'incident\.diagnostics' must be an async callable"):
        scheduler.on(DIAGNOSTICS, Findings(), prepare="checks")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="must be an async callable taking the timer"):
        scheduler.on("escalate", Findings())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="has no prepare step, so nothing to lease"):
        scheduler.on("escalate", Recorder(), lease=timedelta(minutes=1))  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="must be positive"):
        scheduler.on(DIAGNOSTICS, Findings(), prepare=checks, lease=timedelta())
    scheduler.on(DIAGNOSTICS, Findings(), prepare=checks)
    scheduler.on("escalate", Recorder())
