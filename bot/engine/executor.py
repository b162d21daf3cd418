"""The step loop: render the next step, persist it running, run its handler, persist the result.

Between steps the loop honours an Abort; a dangerous step pauses the run for a confirmation; a step with
a delay makes the rest a follow-up; a failed step stops the run (or not, per on_failure) and offers the
runbook's rollback. State is written before and after every step, so the record shows what ran even if
the process dies mid-step.
"""

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.engine.locks import EnvironmentLocks, Renewer
from bot.engine.model import EventKind, RunStatus, RunStep, StepStatus
from bot.engine.timers import CONFIRMATION, FOLLOW_UP, confirmation_key, follow_up_key
from bot.engine.transition import Transition, Transitions
from bot.runbooks.check import StepParamsError, build_params
from bot.runbooks.loader import Catalogue
from bot.runbooks.prepare import PreparedStep, StepRenderError, prepare
from bot.runbooks.schema import RollbackOnFailure, Runbook, Step
from bot.runbooks.template import displayable
from bot.scheduler import Scheduler
from bot.store import runs
from handlers.registry import Params, StepContext, StepResult

log = logging.getLogger(__name__)

# A handler's own timeout (ctx.timeout_s) ends it; this is the engine's guard if one ever does not.
GUARD_S = 15.0
MAX_STORED_OUTPUT = 100_000


@dataclass(frozen=True)
class Ready:
    """A step about to run: its handler's params and what to redact from what it prints."""

    row: RunStep
    step: Step
    params: Params
    secrets: list[str]
    environment: str


def redact(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret:
                value = value.replace(secret, "[redacted]")
        return value
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    return value


class Executor:
    def __init__(self, catalogue: Catalogue, transitions: Transitions, locks: EnvironmentLocks,
                 scheduler: Scheduler) -> None:
        self.catalogue = catalogue
        self.transitions = transitions
        self.locks = locks
        self.scheduler = scheduler

    async def advance(self, run_id: int) -> None:
        """Run steps until the run finishes, waits for a confirmation, or becomes a follow-up."""
        # Row-locked: a timer that just handed the run over commits first (it holds this row's lock).
        async with self.transitions.store.transaction() as tx:
            run = await runs.get_run(tx, run_id, for_update=True)
        lock = EnvironmentLocks.of(run) if run is not None else None
        if run is None or lock is None:
            return
        async with Renewer(self.locks, lock) as renewer:
            while True:
                ready = await self._next(run_id, renewer.lost)
                if ready is None:
                    return
                result = await self._execute(run_id, ready)
                if not await self._record(run_id, ready, result):
                    return

    # -- before a step --------------------------------------------------------------------------------

    async def _next(self, run_id: int, lock_lost: bool) -> Ready | None:
        """Decide what happens next; a Ready step is persisted as running before this returns."""
        while True:
            async with self.transitions.open(run_id) as t:
                outcome = await self._decide(t, lock_lost)
            if outcome == "again":  # a step was skipped: decide the next one in a fresh transaction
                continue
            return outcome if isinstance(outcome, Ready) else None

    async def _decide(self, t: Transition, lock_lost: bool) -> "Ready | str | None":
        run = t.view.run
        if run.status not in (RunStatus.PENDING, RunStatus.RUNNING):
            return None
        if run.abort_requested_by:
            await t.finish(RunStatus.ABORTED, f"Aborted by <@{run.abort_requested_by}> between steps",
                           by=run.abort_requested_by, scheduler=self.scheduler)
            return None
        if lock_lost:
            await t.finish(RunStatus.FAILED, "Stopped: the environment lock was lost (Redis unreachable or "
                           "expired); nothing further was run", error="environment lock lost",
                           scheduler=self.scheduler)
            return None
        row = next((s for s in t.view.steps if s.status in (StepStatus.PENDING, StepStatus.WAITING)), None)
        if row is None:
            await t.finish(RunStatus.SUCCEEDED, f"Succeeded: {run.label} in {run.environment}",
                           scheduler=self.scheduler)
            return None
        runbook = self.catalogue.get(run.runbook)
        step = runbook.steps[row.position]
        outputs = {s.step_id: s.outputs for s in t.view.steps if s.status is StepStatus.DONE}
        scope = self.catalogue.scope(runbook, run.environment, run.params, steps=outputs, final=True)
        try:
            prepared = prepare(step, scope)
            if prepared.run is not False:
                params = build_params(self.catalogue.registry[step.handler], prepared.params)
        except (StepRenderError, StepParamsError, KeyError) as exc:
            await self._failed(t, runbook, row, step, f"could not prepare the step: {exc}", "")
            return None
        if prepared.run is False:
            await t.update_step(row.position, status=StepStatus.SKIPPED.value,
                                summary=f"skipped: `{step.when}` is false", finished_at=t.now)
            return "again"
        if await self._defer(t, row, step, prepared):
            return None
        if step.dangerous and not await self._approved(t, row, prepared):
            return None
        if run.lock_token is None or not await runs.fence(t.tx, run.environment, run.lock_token, run.id):
            await t.finish(RunStatus.FAILED, "Stopped: another run holds a newer lock on the environment; "
                           "nothing further was run", error="fenced off", scheduler=self.scheduler)
            return None
        shown = redact(displayable(prepared.params), scope.secrets)
        await t.update_step(row.position, status=StepStatus.RUNNING.value, started_at=t.now, params=shown)
        if run.status is not RunStatus.RUNNING:
            await t.update_run(status=RunStatus.RUNNING.value)
        return Ready(row, step, params, list(scope.secrets), run.environment)

    async def _defer(self, t: Transition, row: RunStep, step: Step, prepared: PreparedStep) -> bool:
        """A delayed step the first time it is reached: schedule the follow-up, free the environment."""
        delay = prepared.delay_s
        if step.delay is None or row.due_at is not None or not isinstance(delay, float):
            return False
        due = t.now + timedelta(seconds=delay)
        await t.update_step(row.position, due_at=due)
        await t.update_run(status=RunStatus.SCHEDULED.value, lock_token=None)
        await self.scheduler.schedule(FOLLOW_UP, due, {"run_id": t.run_id, "position": row.position},
                                      key=follow_up_key(t.run_id, row.position), run_id=t.run_id, tx=t.tx)
        t.release = EnvironmentLocks.of(t.view.run)
        t.event(EventKind.SCHEDULED, f"Next: {step.name} — offered as a follow-up at the due time", step=row)
        return True

    async def _approved(self, t: Transition, row: RunStep, prepared: PreparedStep) -> bool:
        """True when the dangerous step was confirmed; else pause the run for the confirmation."""
        approval = await runs.get_approval(t.tx, t.run_id, row.position)
        if approval is not None:
            return approval.decision == "approved"
        run = t.view.run
        env = self.catalogue.environments[run.environment]
        ttl = float(env.confirmation_ttl)
        text = prepared.confirm_text or row.name
        approval = await runs.insert_approval(t.tx, run.id, row.position, run.requested_by, text, t.now,
                                              t.now + timedelta(seconds=ttl))
        await t.update_step(row.position, status=StepStatus.WAITING.value, confirm_text=text)
        await t.update_run(status=RunStatus.WAITING.value)
        await self.scheduler.schedule(CONFIRMATION, approval.expires_at,
                                      {"run_id": run.id, "position": row.position, "approval_id": approval.id},
                                      key=confirmation_key(run.id, row.position), run_id=run.id, tx=t.tx)
        lock = EnvironmentLocks.of(run)
        if lock is not None:
            await self.locks.hold_for(lock, ttl)
        who = "approval by someone other than the requester" if run.two_person_rule else "confirmation"
        t.event(EventKind.WAITING, f"Waiting for {who}: {text}", step=row)
        return False

    # -- the step itself ------------------------------------------------------------------------------

    async def _execute(self, run_id: int, ready: Ready) -> StepResult:
        handler = self.catalogue.registry[ready.step.handler]
        ctx = StepContext(run_id=run_id, environment=ready.environment, timeout_s=ready.step.timeout,
                          secrets=ready.secrets)
        try:
            result = await asyncio.wait_for(handler.fn(ready.params, ctx), ready.step.timeout + GUARD_S)
        except TimeoutError:
            result = StepResult(ok=False, summary=f"timed out after {ready.step.timeout:g}s")
        except Exception as exc:  # a broken handler is a failed step, never a crashed run
            log.exception("step handler raised", extra={"run_id": run_id, "handler": ready.step.handler})
            result = StepResult(ok=False, summary=f"{type(exc).__name__}: {exc}")
        return StepResult(ok=result.ok, summary=redact(result.summary, ready.secrets),
                          output=redact(result.output, ready.secrets)[-MAX_STORED_OUTPUT:],
                          outputs=redact(_jsonable(result.outputs), ready.secrets))

    async def _record(self, run_id: int, ready: Ready, result: StepResult) -> bool:
        """Persist the step's result; True when the loop goes on."""
        async with self.transitions.open(run_id) as t:
            status = StepStatus.DONE if result.ok else StepStatus.FAILED
            await t.update_step(ready.row.position, status=status.value, summary=result.summary,
                                output=result.output, finished_at=t.now,
                                result={"ok": result.ok, "outputs": result.outputs})
            row = next(s for s in t.view.steps if s.position == ready.row.position)
            row = row.model_copy(update={"status": status, "summary": result.summary, "output": result.output,
                                         "started_at": row.started_at, "finished_at": t.now})
            t.event(EventKind.STEP_FINISHED, result.summary, step=row)
            if result.ok:
                return True
            runbook = self.catalogue.get(t.view.run.runbook)
            return await self._after_failure(t, runbook, row, ready.step)

    async def _failed(self, t: Transition, runbook: Runbook, row: RunStep, step: Step, summary: str,
                      output: str) -> None:
        await t.update_step(row.position, status=StepStatus.FAILED.value, summary=summary, output=output,
                            finished_at=t.now, result={"ok": False, "outputs": {}})
        failed = row.model_copy(update={"status": StepStatus.FAILED, "summary": summary, "finished_at": t.now})
        t.event(EventKind.STEP_FINISHED, summary, step=failed)
        await self._after_failure(t, runbook, failed, step)

    async def _after_failure(self, t: Transition, runbook: Runbook, row: RunStep, step: Step) -> bool:
        if step.on_failure == "continue":
            return True
        rollback = step.on_failure.rollback if isinstance(step.on_failure, RollbackOnFailure) else None
        offer = f"; {rollback} is offered" if rollback else ""
        await t.finish(RunStatus.FAILED, f"Failed at step {row.number} ({row.name}): {row.summary}{offer}",
                       error=f"step {row.number} {row.step_id}: {row.summary}", rollback=rollback,
                       scheduler=self.scheduler)
        return False


def _jsonable(value: Any) -> Any:
    """Outputs go into a jsonb column and later steps' templates; anything else becomes text."""
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return {"value": str(value)}
