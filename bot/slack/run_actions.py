"""The run message's buttons: Confirm/Approve, Abort, and the offered rollback. Every click is audited;
a refused click gets an ephemeral answer saying why, and changes nothing."""

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.engine.service import Engine, Outcome
from bot.logs import user_id
from bot.runtime import Runtime
from bot.slack.audit import audit_interaction
from bot.slack.commands import rollback
from bot.slack.run_blocks import ABORT, CONFIRM, ROLLBACK


def _ints(value: Any, count: int) -> list[int] | None:
    parts = str(value or "").split(":")
    if len(parts) < count or not all(p.isdigit() for p in parts[:count]):
        return None
    return [int(p) for p in parts[:count]]


def register(bolt: AsyncApp, runtime: Runtime, engine: Engine) -> None:
    async def answer(body: dict[str, Any], respond: AsyncRespond, name: str, detail: str, outcome: Outcome) -> None:
        await audit_interaction(runtime, body, name, detail, "accepted" if outcome.accepted else "refused",
                                None if outcome.accepted else outcome.text)
        if not outcome.accepted:
            await respond(text=f":warning: {outcome.text} Nothing was changed.", response_type="ephemeral",
                          replace_original=False)

    async def confirm(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        actor = body["user"]["id"]
        user_id.set(actor)
        ids = _ints(action.get("value"), 2)
        if ids is None:
            await answer(body, respond, CONFIRM, str(action.get("value")),
                         Outcome(False, "This button does not name a run step."))
            return
        run_id, position = ids
        outcome = await engine.confirm(run_id, position, actor)
        await answer(body, respond, CONFIRM, f"run #{run_id} step {position + 1}", outcome)

    async def abort(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        actor = body["user"]["id"]
        user_id.set(actor)
        ids = _ints(action.get("value"), 1)
        if ids is None:
            await answer(body, respond, ABORT, str(action.get("value")),
                         Outcome(False, "This button does not name a run."))
            return
        outcome = await engine.abort(ids[0], actor)
        await answer(body, respond, ABORT, f"run #{ids[0]}", outcome)

    async def start_rollback(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                             respond: AsyncRespond) -> None:
        await ack()
        actor = body["user"]["id"]
        user_id.set(actor)
        ids = _ints(action.get("value"), 1)
        if ids is None:
            await answer(body, respond, ROLLBACK, str(action.get("value")),
                         Outcome(False, "This button does not name a run."))
            return
        outcome = await engine.start_rollback(ids[0], actor, rollback.USAGE)
        await answer(body, respond, ROLLBACK, f"rollback of run #{ids[0]}", outcome)

    bolt.action(CONFIRM)(confirm)
    bolt.action(ABORT)(abort)
    bolt.action(ROLLBACK)(start_rollback)
