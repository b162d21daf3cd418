"""Timers live in PostgreSQL: two bot processes fire each once, a restart or a crash loses none, and a
failing handler is retried with backoff until it works or gives up with its error kept."""

import asyncio
from collections import Counter
from datetime import timedelta

from bot.clock import ManualClock
from bot.scheduler import Scheduler, TickResult, Timer, TimerState
from bot.store.db import Store
from tests.conftest import OpenStore
from tests.scheduler.conftest import START, Recorder


async def test_two_processes_ticking_together_fire_every_timer_exactly_once(open_store: OpenStore,
                                                                           clock: ManualClock) -> None:
    fired_by: dict[str, list[str]] = {"a": [], "b": []}

    def handler(name: str) -> Recorder:
        class Slow(Recorder):
            async def __call__(self, timer: Timer) -> None:
                await asyncio.sleep(0)  # let the other process interleave mid-firing
                fired_by[name].append(timer.key)

        return Slow()

    async with open_store() as store_a, open_store() as store_b:
        a, b = Scheduler(store_a, clock, concurrency=4), Scheduler(store_b, clock, concurrency=4)
        a.on("prompt", handler("a"))
        b.on("prompt", handler("b"))
        keys = [f"incident:{n}:prompt" for n in range(300)]
        for n, key in enumerate(keys):
            await a.schedule("prompt", START + timedelta(seconds=n % 90), key=key)

        for _ in range(3):  # three rounds of both ticking at once, the clock moving in between
            clock.advance(seconds=30)
            await asyncio.gather(a.tick(), b.tick())
        pending = await a.pending()

    counts = Counter(fired_by["a"] + fired_by["b"])
    assert pending == []
    assert sorted(counts) == sorted(keys)
    assert set(counts.values()) == {1}, [k for k, n in counts.items() if n > 1]


async def test_a_restarted_process_fires_the_timers_scheduled_before(open_store: OpenStore,
                                                                     clock: ManualClock) -> None:
    async with open_store() as before_restart:
        first = Scheduler(before_restart, clock)
        await first.schedule("incident.resolution", START + timedelta(minutes=30), {"incident": 7},
                             key="incident:7:resolution")

    clock.advance(minutes=45)  # the bot was down when it came due
    async with open_store() as after_restart:
        second = Scheduler(after_restart, clock)
        seen = Recorder()
        second.on("incident.resolution", seen)
        await second.tick()

    assert seen.keys == ["incident:7:resolution"] and seen.fired[0].payload == {"incident": 7}


async def test_a_crash_mid_handler_leaves_the_timer_for_the_next_process(open_store: OpenStore,
                                                                        clock: ManualClock) -> None:
    entered = asyncio.Event()

    async def hangs(timer: Timer) -> None:
        entered.set()
        await asyncio.Event().wait()  # the process dies here

    async with open_store() as dying_store:
        dying = Scheduler(dying_store, clock)
        dying.on("escalate", hangs)
        await dying.schedule("escalate", START, key="incident:8:escalate:0")
        tick = asyncio.create_task(dying.tick())
        await asyncio.wait_for(entered.wait(), timeout=10)
        tick.cancel()
        await asyncio.gather(tick, return_exceptions=True)

    async with open_store() as next_store:
        survivor = Scheduler(next_store, clock)
        seen = Recorder()
        survivor.on("escalate", seen)
        await survivor.tick()
        stored = await survivor.get("incident:8:escalate:0")

    assert seen.keys == ["incident:8:escalate:0"]
    assert stored is not None and stored.state is TimerState.FIRED and stored.attempts == 1


async def test_a_failing_handler_is_retried_with_backoff_until_it_works(scheduler: Scheduler,
                                                                        clock: ManualClock) -> None:
    calls: list[int] = []

    async def flaky(timer: Timer) -> None:
        calls.append(timer.attempts)
        if len(calls) < 3:
            raise ConnectionError("statuspage unreachable")

    scheduler.on("statuspage.prompt", flaky)
    await scheduler.schedule("statuspage.prompt", START, key="incident:9:prompt")

    first = await scheduler.tick()
    after_one = await scheduler.get("incident:9:prompt")
    assert (first.fired, first.failed) == (0, 1)
    assert after_one is not None and after_one.state is TimerState.PENDING and after_one.attempts == 1
    assert after_one.last_error == "ConnectionError: statuspage unreachable"
    assert after_one.next_at == START + timedelta(seconds=10) and after_one.due_at == START

    assert (await scheduler.tick()) == TickResult()  # still backing off: nothing tried
    clock.advance(seconds=10)
    await scheduler.tick()
    after_two = await scheduler.get("incident:9:prompt")
    assert after_two is not None and after_two.next_at == clock.now() + timedelta(seconds=20)

    clock.advance(seconds=20)
    await scheduler.tick()
    done = await scheduler.get("incident:9:prompt")

    assert calls == [0, 1, 2]
    assert done is not None and done.state is TimerState.FIRED and done.attempts == 3


async def test_a_handler_that_keeps_failing_is_given_up_with_its_error_kept(store: Store,
                                                                            clock: ManualClock) -> None:
    scheduler = Scheduler(store, clock, max_attempts=3, retry_base=timedelta(seconds=5),
                          retry_max=timedelta(seconds=8))
    calls = 0

    async def broken(timer: Timer) -> None:
        nonlocal calls
        calls += 1
        raise KeyError("severity")

    scheduler.on("escalate", broken)
    await scheduler.schedule("escalate", START, key="incident:10:escalate:0")
    for _ in range(6):
        await scheduler.tick()
        clock.advance(seconds=8)

    stored = await scheduler.get("incident:10:escalate:0")
    assert calls == 3
    assert stored is not None and stored.state is TimerState.FAILED and stored.attempts == 3
    assert stored.last_error == "KeyError: 'severity'"
    assert [scheduler.backoff(n) for n in (1, 2, 3)] == [timedelta(seconds=5), timedelta(seconds=8),
                                                          timedelta(seconds=8)]


async def test_the_run_loop_fires_due_timers_in_the_background(scheduler: Scheduler, clock: ManualClock) -> None:
    fired = asyncio.Event()
    seen: list[str] = []

    async def prompt(timer: Timer) -> None:
        seen.append(timer.key)
        fired.set()

    scheduler.poll_interval = 0.05
    scheduler.on("incident.diagnosis", prompt)
    await scheduler.schedule("incident.diagnosis", START + timedelta(minutes=15), key="incident:11:diagnosis")
    await scheduler.start()
    try:
        await asyncio.sleep(0.2)  # several polls with the clock standing still
        assert seen == []
        clock.advance(minutes=15)
        scheduler.wake()
        await asyncio.wait_for(fired.wait(), timeout=10)
    finally:
        await scheduler.stop()

    assert seen == ["incident:11:diagnosis"]
    assert (await scheduler.tick()).fired == 0  # usable by hand after stop, nothing left to fire
