"""One state change of a run: row-locked, recorded with its events, shown to observers, then side effects.

    async with transitions.open(run_id) as t:
        ... t.update_run(...), t.event(...), t.finish(...) ...
    # committed; the lock was released / the run continues if the transition said so

Every writer of a run (the step loop, clicks, timers) goes through here, so they serialize on the run's
row lock and every change reaches the Slack message and the incident timeline the same way.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clock import Clock
from bot.coord import Lock
from bot.engine.events import RunObserver, Tx
from bot.engine.locks import EnvironmentLocks
from bot.engine.model import Decision, EventKind, RunChange, RunEvent, RunStatus, RunStep, RunView
from bot.incidents.model import TimelineEvent, TimelineKind
from bot.scheduler import Scheduler
from bot.store import incidents as incident_rows
from bot.store import runs
from bot.store.db import Store

TIMELINE = {EventKind.STARTED: TimelineKind.RUN_STARTED, EventKind.APPROVED: TimelineKind.RUN_APPROVED,
            EventKind.FINISHED: TimelineKind.RUN_FINISHED}


class NoSuchRun(LookupError):
    def __init__(self, run_id: int) -> None:
        super().__init__(f"there is no run #{run_id}")


@dataclass
class Transition:
    tx: Tx
    view: RunView
    now: datetime
    events: list[RunEvent] = field(default_factory=list)
    changed: bool = False
    release: Lock | None = None  # released after the commit
    continue_run: bool = False  # the step loop picks the run up after the commit

    @property
    def run_id(self) -> int:
        return self.view.run.id

    def event(self, kind: EventKind, text: str, actor: str | None = None, step: RunStep | None = None) -> None:
        self.events.append(RunEvent(kind=kind, at=self.now, actor=actor, text=text, step=step))

    async def update_run(self, **fields: Any) -> None:
        self.changed = True
        await runs.update_run(self.tx, self.run_id, self.now, **fields)

    async def update_step(self, position: int, **fields: Any) -> None:
        self.changed = True
        await runs.update_step(self.tx, self.run_id, position, **fields)

    async def finish(self, status: RunStatus, text: str, *, by: str | None = None, error: str | None = None,
                     rollback: str | None = None, scheduler: Scheduler | None = None) -> None:
        """End the run: open steps cancelled, pending approvals closed, timers cancelled, lock released."""
        run = self.view.run
        await self.update_run(status=status.value, finished_at=self.now, finished_by=by, error=error,
                              lock_token=None, rollback_runbook=rollback)
        await runs.cancel_open_steps(self.tx, run.id, self.now)
        await runs.close_pending_approvals(self.tx, run.id, Decision.CANCELLED, self.now)
        if scheduler is not None:
            await scheduler.cancel_for_run(run.id, tx=self.tx)
        self.release = EnvironmentLocks.of(run)
        self.event(EventKind.FINISHED, text, actor=by)


class Transitions:
    def __init__(self, store: Store, observer: RunObserver, locks: EnvironmentLocks, clock: Clock,
                 spawn: Callable[[int], None]) -> None:
        self.store = store
        self.observer = observer
        self.locks = locks
        self.clock = clock
        self.spawn = spawn

    @asynccontextmanager
    async def open(self, run_id: int, tx: Tx | None = None) -> AsyncIterator[Transition]:
        """A transition in its own transaction, or inside `tx` (a timer's firing) when given."""
        if tx is not None:
            transition = await self._begin(tx, run_id)
            yield transition
            await self._record(transition)
        else:
            async with self.store.transaction() as own:
                transition = await self._begin(own, run_id)
                yield transition
                await self._record(transition)
        if transition.changed or transition.events:
            self.observer.committed()
        await self.locks.release(transition.release)
        if transition.continue_run:
            self.spawn(run_id)

    async def _begin(self, tx: Tx, run_id: int) -> Transition:
        view = await runs.view(tx, run_id, for_update=True)
        if view is None:
            raise NoSuchRun(run_id)
        return Transition(tx, view, self.clock.now())

    async def _record(self, t: Transition) -> None:
        if not (t.changed or t.events):
            return
        view = await runs.view(t.tx, t.run_id)
        assert view is not None
        t.view = view
        incident_id = view.run.incident_id
        if incident_id is not None:
            await incident_rows.add_events(t.tx, [
                TimelineEvent(incident_id=incident_id, at=e.at, kind=TIMELINE[e.kind], actor=e.actor,
                              text=f"Run #{view.run.id} ({view.run.label}): {e.text}",
                              data={"run_id": view.run.id, "status": view.run.status.value})
                for e in t.events if e.kind in TIMELINE])
        await self.observer.changed(t.tx, RunChange(view=view, events=t.events))
