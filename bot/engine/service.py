"""The engine's entry points: start a run, confirm or abort it, start its rollback, and its timers.

Every entry point answers with an Outcome (accepted or not, and the sentence to show the person); the
state it changed reaches Slack through the RunObserver, not through the answer.
"""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.config import AppConfig
from bot.coord import Coordination, Lock
from bot.engine.events import RunObserver
from bot.engine.executor import Executor
from bot.engine.locks import Busy, EnvironmentLocks
from bot.engine.model import Approval, Decision, EventKind, Run, RunStatus, StepStatus
from bot.engine.permissions import GroupDirectory, PermissionCheck, may_abort, may_confirm
from bot.engine.preflight import Checked, Refusal, RunRequest, check
from bot.engine.timers import CONFIRMATION, FOLLOW_UP, RETRY_BUSY_S, confirmation_key
from bot.engine.transition import NoSuchRun, Transition, Transitions
from bot.runbooks.duration import format_duration
from bot.runbooks.loader import Catalogue
from bot.scheduler import Scheduler, Timer
from bot.store import incidents as incident_rows
from bot.store import runs
from bot.store.db import Store
from bot.store.runs import NewRun, NewStep

log = logging.getLogger(__name__)

ACTIVE = [RunStatus.PENDING, RunStatus.RUNNING]


@dataclass(frozen=True)
class Outcome:
    accepted: bool
    text: str
    run_id: int | None = None


def label_of(runbook_id: str, params: dict[str, Any]) -> str:
    shown = [str(v) for v in params.values() if v not in (None, False, "")]
    return " ".join([runbook_id, *shown])


class Engine:
    def __init__(self, config: AppConfig, store: Store, coord: Coordination, catalogue: Catalogue,
                 scheduler: Scheduler, observer: RunObserver, clock: Clock, groups: GroupDirectory) -> None:
        self.config = config
        self.groups = groups  # members of the user groups (S…) the roles name
        self.store = store
        self.coord = coord
        self.catalogue = catalogue
        self.scheduler = scheduler
        self.locks = EnvironmentLocks(coord, config.engine.lock_ttl)
        self.transitions = Transitions(store, observer, self.locks, clock, self._spawn)
        self.executor = Executor(catalogue, self.transitions, self.locks, scheduler)
        self._tasks: dict[int, asyncio.Task[None]] = {}
        scheduler.on(CONFIRMATION, self._on_confirmation_timer)
        scheduler.on(FOLLOW_UP, self._on_follow_up)

    @property
    def clock(self) -> Clock:
        return self.transitions.clock

    def use_clock(self, clock: Clock) -> None:
        """Tests drive time by hand: confirmations, expiries and follow-ups all follow this clock."""
        self.transitions.clock = clock
        self.scheduler.clock = clock

    def local(self, moment: datetime) -> str:
        return moment.astimezone(self.config.zone).strftime("%Y-%m-%d %H:%M:%S")

    # -- starting -------------------------------------------------------------------------------------

    async def start(self, request: RunRequest, run_id: int | None = None) -> Run:
        """Check the request, take the environment, record the run and set it going; Refusal otherwise."""
        checked = await check(self.config, self.catalogue, self.groups, request)
        incident_id = await self._incident_for(request)
        if run_id is None:
            async with self.store.connection() as conn:
                run_id = await runs.next_id(conn)
        label = label_of(checked.runbook.id, checked.params)
        lock = await self.locks.acquire(request.environment, request.user, run_id, label)
        if isinstance(lock, Busy):
            raise Refusal(await self.busy_text(lock), request.usage)
        try:
            await self._insert(checked, run_id, lock, incident_id)
            async with self.transitions.open(run_id) as t:
                who = "two-person rule on" if checked.two_person_rule else "two-person rule off"
                t.event(EventKind.STARTED, f"<@{request.user}> started {label} in {request.environment} ({who})",
                        actor=request.user)
                t.continue_run = True
            return t.view.run
        except BaseException:
            await self.locks.release(lock)
            raise

    async def _insert(self, checked: Checked, run_id: int, lock: Lock, incident_id: int | None) -> None:
        runbook, request = checked.runbook, checked.request
        async with self.store.transaction() as tx:
            await runs.insert_run(tx, NewRun(
                id=run_id, runbook=runbook.id, title=runbook.title, environment=request.environment,
                params=checked.params, requested_by=request.user, incident_id=incident_id,
                two_person_rule=checked.two_person_rule, lock_token=lock.token, created_at=self.clock.now(),
                started_from_run=request.started_from_run,
            ), [NewStep(i, s.id, s.name, s.handler, s.dangerous) for i, s in enumerate(runbook.steps)])

    async def busy_text(self, busy: Busy) -> str:
        """Who holds the environment and since when (the run's own start time when it is on record)."""
        since, run = busy.since, ""
        if busy.run_id is not None:
            run = f" (run #{busy.run_id})"
            async with self.store.connection() as conn:
                holder = await runs.get_run(conn, busy.run_id)
            if holder is not None:
                since = holder.created_at
        return (f"{busy.environment} is busy: <@{busy.owner}> is running {busy.label}{run} since "
                f"{self.local(since)}. One deploy or rollback at a time per environment: wait for it "
                "to finish, or abort it from its message.")

    async def _incident_for(self, request: RunRequest) -> int | None:
        """The open incident a run belongs to: given, the thread it was asked in, or the only one open in
        the channel it was asked in (a /rollback typed in #incidents during an incident)."""
        if request.incident_id is not None:
            return request.incident_id
        if request.channel is None:
            return None
        async with self.store.connection() as conn:
            if request.thread_ts:
                incident = await incident_rows.by_thread(conn, request.channel, request.thread_ts)
                if incident is not None and incident.is_open:
                    return incident.id
            here = [i for i in await incident_rows.list_open(conn) if i.channel == request.channel]
        return here[0].id if len(here) == 1 else None

    # -- running --------------------------------------------------------------------------------------

    def _spawn(self, run_id: int) -> None:
        # A click may hand the run back while the task that paused it is still unwinding: chain after it,
        # so one run never has two drivers.
        previous = self._tasks.get(run_id)
        task = asyncio.create_task(self._drive(run_id, previous), name=f"run-{run_id}")
        self._tasks[run_id] = task
        task.add_done_callback(lambda done: self._tasks.pop(run_id, None) if self._tasks.get(run_id) is done
                               else None)

    async def _drive(self, run_id: int, previous: "asyncio.Task[None] | None" = None) -> None:
        if previous is not None and not previous.done():
            await asyncio.gather(previous, return_exceptions=True)
        try:
            await self.executor.advance(run_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an engine bug must leave a failed run on record, not a silent one
            log.exception("run failed inside the engine", extra={"run_id": run_id})
            with contextlib.suppress(Exception):
                await self._interrupt(run_id, f"Failed inside the engine ({type(exc).__name__}: {exc}); "
                                              "check the systems by hand before running anything else")

    async def idle(self) -> None:
        """Until no run is being driven by this process (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def stop(self) -> None:
        active = dict(self._tasks)
        for task in active.values():
            task.cancel()
        await asyncio.gather(*active.values(), return_exceptions=True)
        for run_id in active:
            with contextlib.suppress(Exception):
                await self._interrupt(run_id, "Interrupted: the bot stopped while this run was active")

    async def _interrupt(self, run_id: int, text: str) -> None:
        async with self.transitions.open(run_id) as t:
            if t.view.run.status.finished:
                return
            for step in t.view.steps:
                if step.status is StepStatus.RUNNING:
                    await t.update_step(step.position, status=StepStatus.FAILED.value, finished_at=t.now,
                                        summary="interrupted: its outcome is unknown")
            await t.finish(RunStatus.FAILED, text, error=text, scheduler=self.scheduler)

    async def reap(self) -> int:
        """Fail runs left running by a process that died: their environment lock is gone or another's."""
        async with self.store.connection() as conn:
            candidates = await runs.unfinished(conn, ACTIVE)
        reaped = 0
        for run in candidates:
            if run.id in self._tasks:
                continue
            holder = await self.coord.holder(run.lock_name)
            if holder is not None and holder.info.get("run_id") == run.id:
                continue  # another process is driving it
            await self._interrupt(run.id, "Interrupted: the bot restarted while this run was active; check what "
                                          "its last step did before running anything else")
            reaped += 1
        return reaped

    # -- clicks ---------------------------------------------------------------------------------------

    async def confirm(self, run_id: int, position: int, user: str) -> Outcome:
        """Confirm (or, under the two-person rule, approve) a waiting dangerous step. Single-use."""
        if (refused := await self._refusal(run_id, user, may_confirm)) is not None:
            return refused
        try:
            async with self.transitions.open(run_id) as t:
                return await self._confirm(t, position, user)
        except NoSuchRun as exc:
            return Outcome(False, f"{str(exc).capitalize()}.")

    async def _confirm(self, t: Transition, position: int, user: str) -> Outcome:
        run = t.view.run
        approval = await runs.get_approval(t.tx, run.id, position)
        if approval is None:
            return Outcome(False, f"Step {position + 1} of run #{run.id} is not waiting for a confirmation.", run.id)
        if approval.decision is Decision.APPROVED:
            return Outcome(False, f"Already confirmed by <@{approval.approved_by}> at "
                                  f"{self.local(approval.decided_at or t.now)}; it ran once.", run.id)
        expired = Outcome(False, f"This confirmation expired at {self.local(approval.expires_at)} and run "
                                 f"#{run.id} was cancelled; nothing was run. Start it again if it is still needed.",
                          run.id)
        if approval.decision is Decision.PENDING and approval.expires_at <= t.now:
            await self._expire(t, approval)  # the timer has not fired yet; the click finds out first
            return expired
        if approval.decision is Decision.EXPIRED:
            return expired
        if run.status is not RunStatus.WAITING or approval.decision is not Decision.PENDING:
            return Outcome(False, f"Run #{run.id} is {run.status.value}; there is nothing to confirm.", run.id)
        lock = await self._relock(run)
        if isinstance(lock, Busy):
            busy = await self.busy_text(lock)
            await t.finish(RunStatus.CANCELLED, f"Cancelled: {busy}", error="environment taken",
                           scheduler=self.scheduler)
            return Outcome(False, f"The environment lock of run #{run.id} expired and {busy}", run.id)
        claimed = await runs.claim_approval(t.tx, approval.id, user, t.now)
        if claimed is None:
            return Outcome(False, f"Run #{run.id}'s confirmation was already handled.", run.id)
        await t.update_run(status=RunStatus.RUNNING.value, lock_token=lock.token)
        await self.scheduler.cancel(confirmation_key(run.id, position), tx=t.tx)
        verb = "Approved" if run.two_person_rule else "Confirmed"
        step = next(s for s in t.view.steps if s.position == position)
        t.event(EventKind.APPROVED, f"{verb} by <@{user}>: {claimed.confirm_text}", actor=user, step=step)
        t.continue_run = True
        return Outcome(True, f"{verb}: {claimed.confirm_text}", run.id)

    async def _refusal(self, run_id: int, user: str, may: PermissionCheck) -> Outcome | None:
        """Why `user` may not act on the run (or that there is no such run), or None."""
        run = await self._unlocked_run(run_id)
        if run is None:
            return Outcome(False, f"{str(NoSuchRun(run_id)).capitalize()}.")
        refused = await may(self.config, self.groups, run, user)
        return Outcome(False, f"{refused[0].upper()}{refused[1:]}.", run.id) if refused else None

    async def _unlocked_run(self, run_id: int) -> Run | None:
        """The run as recorded, for a permission check: who asked for it and under which rule never change, and
        the check may ask Slack for a user group's members, which must not happen while the run's row is locked."""
        async with self.store.connection() as conn:
            return await runs.get_run(conn, run_id)

    async def _relock(self, run: Run) -> Lock | Busy:
        lock = EnvironmentLocks.of(run)
        if lock is not None and await self.locks.renew(lock):
            return lock
        return await self.locks.acquire(run.environment, run.requested_by, run.id, run.label)

    async def _expire(self, t: Transition, approval: Approval) -> None:
        await runs.close_pending_approvals(t.tx, t.run_id, Decision.EXPIRED, t.now)
        step = next(s for s in t.view.steps if s.position == approval.position)
        ttl = format_duration((approval.expires_at - approval.requested_at).total_seconds())
        await t.finish(RunStatus.CANCELLED,
                       f"Cancelled: nobody confirmed step {step.number} ({step.name}) within {ttl}; the "
                       f"confirmation expired at {self.local(approval.expires_at)} and nothing further ran",
                       error="confirmation expired", scheduler=self.scheduler)

    async def abort(self, run_id: int, user: str) -> Outcome:
        if (refused := await self._refusal(run_id, user, may_abort)) is not None:
            return refused
        try:
            async with self.transitions.open(run_id) as t:
                run = t.view.run
                if run.status.finished:
                    return Outcome(False, f"Run #{run.id} already {run.status.value}.", run.id)
                if run.abort_requested_by:
                    return Outcome(False, f"<@{run.abort_requested_by}> already asked to abort run #{run.id}.", run.id)
                if run.status in (RunStatus.WAITING, RunStatus.SCHEDULED):
                    await t.finish(RunStatus.ABORTED, f"Aborted by <@{user}>; nothing further ran", by=user,
                                   scheduler=self.scheduler)
                    return Outcome(True, f"Run #{run.id} aborted.", run.id)
                await t.update_run(abort_requested_by=user, abort_requested_at=t.now)
                t.event(EventKind.ABORT_REQUESTED, f"<@{user}> asked to abort: the running step finishes, "
                                                   "nothing after it runs", actor=user)
                return Outcome(True, f"Run #{run.id} stops after its running step.", run.id)
        except NoSuchRun as exc:
            return Outcome(False, f"{str(exc).capitalize()}.")

    async def start_rollback(self, run_id: int, user: str, usage: str) -> Outcome:
        """Start the rollback runbook a failed run offers, once."""
        async with self.store.connection() as conn:
            new_id = await runs.next_id(conn)
        try:
            async with self.transitions.open(run_id) as t:
                run = t.view.run
                if run.rollback_runbook is None:
                    return Outcome(False, f"Run #{run.id} offers no rollback.", run.id)
                if run.rollback_run_id is not None:
                    return Outcome(False, f"{run.rollback_runbook} was already started for run #{run.id} "
                                          f"as run #{run.rollback_run_id}.", run.id)
                await t.update_run(rollback_run_id=new_id)
        except NoSuchRun as exc:
            return Outcome(False, f"{str(exc).capitalize()}.")
        request = RunRequest(runbook_id=run.rollback_runbook, environment=run.environment, raw_params={}, user=user,
                             usage=usage, started_from_run=run.id, incident_id=run.incident_id)
        try:
            await self.start(request, run_id=new_id)
        except Refusal as refusal:
            async with self.transitions.open(run_id) as t:
                await t.update_run(rollback_run_id=None)
            return Outcome(False, refusal.problem, run_id)
        async with self.transitions.open(run_id) as t:
            t.event(EventKind.NOTE, f"<@{user}> started {run.rollback_runbook} as run #{new_id}", actor=user)
        return Outcome(True, f"Started {run.rollback_runbook} as run #{new_id}.", new_id)

    # -- timers ---------------------------------------------------------------------------------------

    async def _on_confirmation_timer(self, timer: Timer) -> None:
        run_id, position = int(timer.payload["run_id"]), int(timer.payload["position"])
        with contextlib.suppress(NoSuchRun):
            async with self.transitions.open(run_id, tx=timer.tx) as t:
                approval = await runs.get_approval(t.tx, run_id, position)
                if approval is not None and approval.decision is Decision.PENDING and \
                        t.view.run.status is RunStatus.WAITING:
                    await self._expire(t, approval)

    async def _on_follow_up(self, timer: Timer) -> None:
        run_id = int(timer.payload["run_id"])
        with contextlib.suppress(NoSuchRun):
            async with self.transitions.open(run_id, tx=timer.tx) as t:
                run = t.view.run
                if run.status is not RunStatus.SCHEDULED:
                    return
                later = await runs.later_run(t.tx, run.environment, run.id)
                if later is not None:
                    await t.finish(RunStatus.CANCELLED, f"Follow-up cancelled: run #{later.id} ({later.label}) "
                                   f"changed {run.environment} since, so this run's remaining steps no longer apply",
                                   error="superseded", scheduler=self.scheduler)
                    return
                lock = await self.locks.acquire(run.environment, run.requested_by, run.id, run.label)
                if isinstance(lock, Busy):
                    await self.scheduler.schedule(FOLLOW_UP, t.now + timedelta(seconds=RETRY_BUSY_S), timer.payload,
                                                  key=timer.key, run_id=run.id, replace=True, tx=t.tx)
                    t.event(EventKind.NOTE, f"Follow-up postponed {format_duration(RETRY_BUSY_S)}: "
                                            f"{await self.busy_text(lock)}")
                    return
                await t.update_run(status=RunStatus.RUNNING.value, lock_token=lock.token)
                t.event(EventKind.NOTE, "Follow-up due: continuing")
                t.continue_run = True
