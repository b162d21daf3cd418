"""Timers fire at their due time, once; cancelled ones never; the same key is the same timer."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import ManualClock
from bot.scheduler import Scheduler, Timer, TimerState
from bot.store.db import Store
from tests.scheduler.conftest import START, Recorder, new_incident


async def test_a_timer_fires_once_at_its_due_time_and_not_before(scheduler: Scheduler, clock: ManualClock) -> None:
    prompt = Recorder()
    scheduler.on("incident.diagnosis", prompt)
    await scheduler.schedule("incident.diagnosis", START + timedelta(minutes=15), {"severity": "P1"},
                             key="incident:7:diagnosis")

    assert (await scheduler.tick()).fired == 0
    clock.advance(minutes=14, seconds=59)
    assert (await scheduler.tick()).fired == 0
    assert prompt.fired == []

    clock.advance(seconds=1)
    result = await scheduler.tick()
    again = await scheduler.tick()

    assert (result.fired, again.fired) == (1, 0)
    [fired] = prompt.fired
    assert fired.key == "incident:7:diagnosis" and fired.payload == {"severity": "P1"}
    assert fired.due_at == START + timedelta(minutes=15)
    stored = await scheduler.get("incident:7:diagnosis")
    assert stored is not None and stored.state is TimerState.FIRED
    assert stored.fired_at == clock.now() and stored.attempts == 1


async def test_overdue_timers_fire_oldest_first(scheduler: Scheduler, clock: ManualClock) -> None:
    seen = Recorder()
    scheduler.on("k", seen)
    scheduler.concurrency = 1  # one worker, so the order is the claim order
    for minutes in (30, 5, 15):
        await scheduler.schedule("k", START + timedelta(minutes=minutes), key=f"at-{minutes}")

    clock.advance(hours=1)
    await scheduler.tick()

    assert seen.keys == ["at-5", "at-15", "at-30"]


async def test_a_cancelled_timer_never_fires(scheduler: Scheduler, clock: ManualClock) -> None:
    seen = Recorder()
    scheduler.on("escalate", seen)
    await scheduler.schedule("escalate", START + timedelta(minutes=5), key="incident:1:escalate:0")

    assert await scheduler.cancel("incident:1:escalate:0") is True
    assert await scheduler.cancel("incident:1:escalate:0") is False  # nothing pending any more
    assert await scheduler.cancel("no-such-timer") is False
    cancelled_at = clock.now()
    clock.advance(hours=1)
    await scheduler.tick()

    assert seen.fired == []
    stored = await scheduler.get("incident:1:escalate:0")
    assert stored is not None and stored.state is TimerState.CANCELLED and stored.cancelled_at == cancelled_at


async def test_resolving_an_incident_stops_its_timers_and_only_its_own(scheduler: Scheduler, store: Store,
                                                                       clock: ManualClock) -> None:
    seen = Recorder()
    for kind in ("escalate", "statuspage.prompt", "run.follow_up"):
        scheduler.on(kind, seen)
    ours, theirs = await new_incident(store, "checkout failing"), await new_incident(store, "search slow")
    due = START + timedelta(minutes=5)
    await scheduler.schedule("escalate", due, key="ours:escalate", incident_id=ours)
    await scheduler.schedule("statuspage.prompt", due, key="ours:prompt", incident_id=ours)
    await scheduler.schedule("statuspage.prompt", due, key="theirs:prompt", incident_id=theirs)
    await scheduler.schedule("run.follow_up", due, key="run:9:cleanup", run_id=9)
    await scheduler.schedule("run.follow_up", due, key="run:10:cleanup", run_id=10)

    # Acknowledged: escalation stops, status-page prompts go on.
    assert await scheduler.cancel_for_incident(ours, kinds=["escalate"]) == 1
    assert [t.key for t in await scheduler.pending(incident_id=ours)] == ["ours:prompt"]
    # Resolved: everything of this incident stops; the other incident and the runs are untouched.
    assert await scheduler.cancel_for_incident(ours) == 1
    assert await scheduler.cancel_for_run(9) == 1
    clock.advance(minutes=5)
    await scheduler.tick()

    assert sorted(seen.keys) == ["run:10:cleanup", "theirs:prompt"]


async def test_scheduling_the_same_key_again_is_the_same_timer(scheduler: Scheduler, clock: ManualClock) -> None:
    seen = Recorder()
    scheduler.on("incident.resolution", seen)
    due = START + timedelta(minutes=30)
    first = await scheduler.schedule("incident.resolution", due, {"n": 1}, key="incident:3:resolution")
    # A restart re-arms the incident's timers: same key, nothing new, the first one wins.
    second = await scheduler.schedule("incident.resolution", due + timedelta(minutes=9), {"n": 2},
                                      key="incident:3:resolution")

    assert second.id == first.id and second.due_at == due and second.payload == {"n": 1}
    clock.advance(hours=1)
    await scheduler.tick()
    # Once fired, scheduling it again does not fire it again.
    await scheduler.schedule("incident.resolution", due, {"n": 1}, key="incident:3:resolution")
    clock.advance(hours=1)
    await scheduler.tick()

    assert seen.keys == ["incident:3:resolution"]
    assert [t.payload for t in seen.fired] == [{"n": 1}]


async def test_replace_rearms_a_timer_whatever_its_state(scheduler: Scheduler, clock: ManualClock) -> None:
    seen = Recorder()
    scheduler.on("statuspage.prompt", seen)
    await scheduler.schedule("statuspage.prompt", START + timedelta(minutes=20), {"n": 1}, key="incident:4:prompt")
    # Someone updated the status page at minute 10: the next prompt moves to minute 30.
    moved = await scheduler.schedule("statuspage.prompt", START + timedelta(minutes=30), {"n": 2},
                                     key="incident:4:prompt", replace=True)

    clock.advance(minutes=20)
    assert (await scheduler.tick()).fired == 0
    clock.advance(minutes=10)
    await scheduler.tick()
    await scheduler.cancel("incident:4:prompt")
    rearmed = await scheduler.schedule("statuspage.prompt", clock.now() + timedelta(minutes=30), {"n": 3},
                                       key="incident:4:prompt", replace=True)
    clock.advance(minutes=30)
    await scheduler.tick()

    assert moved.state is TimerState.PENDING and rearmed.state is TimerState.PENDING
    assert [t.payload for t in seen.fired] == [{"n": 2}, {"n": 3}]


async def test_a_handler_can_rearm_its_own_timer_for_a_recurring_prompt(scheduler: Scheduler,
                                                                        clock: ManualClock) -> None:
    seen: list[datetime] = []

    async def prompt(timer: Timer) -> None:
        seen.append(clock.now())
        if len(seen) < 3:
            await scheduler.schedule(timer.kind, clock.now() + timedelta(minutes=20), timer.payload, key=timer.key,
                                     replace=True, tx=timer.tx)

    scheduler.on("statuspage.prompt", prompt)
    await scheduler.schedule("statuspage.prompt", START, key="incident:5:prompt")
    for _ in range(5):
        await scheduler.tick()
        clock.advance(minutes=20)

    assert seen == [START, START + timedelta(minutes=20), START + timedelta(minutes=40)]
    stored = await scheduler.get("incident:5:prompt")
    assert stored is not None and stored.state is TimerState.FIRED


async def test_a_handler_writes_commit_with_the_firing_or_not_at_all(scheduler: Scheduler,
                                                                   clock: ManualClock) -> None:
    attempts = 0

    async def chain(timer: Timer) -> None:
        nonlocal attempts
        attempts += 1
        await scheduler.schedule("next", clock.now() + timedelta(minutes=1), key=f"next-{attempts}", tx=timer.tx)
        if attempts == 1:
            raise RuntimeError("Slack outbox unavailable")

    scheduler.on("first", chain)
    scheduler.on("next", Recorder())
    await scheduler.schedule("first", START, key="first")
    await scheduler.tick()
    clock.advance(minutes=5)
    await scheduler.tick()

    # The failed attempt's follow-up was rolled back with it; the successful one's was committed.
    assert await scheduler.get("next-1") is None
    follow_up = await scheduler.get("next-2")
    assert follow_up is not None and follow_up.state is TimerState.PENDING


async def test_timers_of_kinds_nobody_handles_wait_for_a_process_that_does(store: Store, clock: ManualClock) -> None:
    old_version = Scheduler(store, clock)
    old_version.on("known", Recorder())
    await old_version.schedule("added.later", START, key="new-kind")

    clock.advance(minutes=1)
    assert (await old_version.tick()).fired == 0
    untouched = await old_version.get("new-kind")
    new_version = Scheduler(store, clock)
    seen = Recorder()
    new_version.on("added.later", seen)
    await new_version.tick()

    assert untouched is not None and untouched.state is TimerState.PENDING and untouched.attempts == 0
    assert seen.keys == ["new-kind"]


async def test_bad_input_is_refused(scheduler: Scheduler) -> None:
    scheduler.on("k", Recorder())
    with pytest.raises(ValueError, match="already registered"):
        scheduler.on("k", Recorder())
    with pytest.raises(ValueError, match="no time zone"):
        await scheduler.schedule("k", datetime(2024, 5, 6, 9, 0), key="naive")
    with pytest.raises(ValueError, match="kind and a key"):
        await scheduler.schedule("k", datetime(2024, 5, 6, 9, 0, tzinfo=UTC), key="")
