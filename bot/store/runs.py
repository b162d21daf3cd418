"""runbook_runs, run_steps, approvals, environment_fences, and the timeline rows runs add to incidents."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from bot.engine.model import Approval, Decision, Run, RunStatus, RunStep, RunView, StepStatus

Tx = AsyncConnection[DictRow]

_RUN = (
    "id, runbook, title, environment, params, requested_by, incident_id, status, two_person_rule, channel,"
    " message_ts, message_outbox_id, lock_token, created_at, updated_at, finished_at, finished_by, error,"
    " abort_requested_by, rollback_runbook, rollback_run_id, started_from_run"
)
_STEP = (
    "position, step_id, name, handler, dangerous, status, params, summary, output, result, confirm_text,"
    " started_at, finished_at, due_at"
)
_APPROVAL = (
    "id, run_id, position, requested_by, approved_by, decision, confirm_text, requested_at, decided_at, expires_at"
)
_RUN_FIELDS = frozenset({
    "status", "lock_token", "finished_at", "finished_by", "error", "abort_requested_by", "abort_requested_at",
    "rollback_runbook", "rollback_run_id", "channel", "message_outbox_id",
})
_STEP_FIELDS = frozenset({
    "status", "params", "summary", "output", "result", "confirm_text", "started_at", "finished_at", "due_at",
})
_JSON = frozenset({"params", "result"})


@dataclass(frozen=True)
class NewStep:
    position: int
    step_id: str
    name: str
    handler: str
    dangerous: bool


@dataclass(frozen=True)
class NewRun:
    id: int
    runbook: str
    title: str
    environment: str
    params: dict[str, Any]
    requested_by: str
    incident_id: int | None
    two_person_rule: bool
    lock_token: int | None
    created_at: datetime
    started_from_run: int | None = None


async def next_id(conn: Tx) -> int:
    """Reserve a run id before the run exists, so the environment lock can name it."""
    cur = await conn.execute("SELECT nextval(pg_get_serial_sequence('runbook_runs', 'id')) AS id")
    row = await cur.fetchone()
    assert row is not None
    return int(row["id"])


async def insert_run(tx: Tx, new: NewRun, steps: list[NewStep]) -> None:
    await tx.execute(
        "INSERT INTO runbook_runs (id, runbook, title, environment, params, requested_by, incident_id, status,"
        " two_person_rule, lock_token, created_at, updated_at, started_from_run)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, 'pending', %s, %s, %s, %s, %s)",
        (new.id, new.runbook, new.title, new.environment, Jsonb(new.params), new.requested_by, new.incident_id,
         new.two_person_rule, new.lock_token, new.created_at, new.created_at, new.started_from_run))
    async with tx.cursor() as cur:
        await cur.executemany(
            "INSERT INTO run_steps (run_id, position, step_id, name, handler, dangerous)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [(new.id, s.position, s.step_id, s.name, s.handler, s.dangerous) for s in steps])


def _run(row: DictRow) -> Run:
    return Run.model_validate(dict(row))


async def get_run(conn: Tx, run_id: int, *, for_update: bool = False) -> Run | None:
    lock = " FOR UPDATE" if for_update else ""
    cur = await conn.execute(f"SELECT {_RUN} FROM runbook_runs WHERE id = %s{lock}", (run_id,))
    row = await cur.fetchone()
    return _run(row) if row else None


async def get_steps(conn: Tx, run_id: int) -> list[RunStep]:
    cur = await conn.execute(f"SELECT {_STEP} FROM run_steps WHERE run_id = %s ORDER BY position", (run_id,))
    return [RunStep.model_validate(dict(r)) for r in await cur.fetchall()]


async def view(conn: Tx, run_id: int, *, for_update: bool = False) -> RunView | None:
    """The run (row-locked with for_update), its steps and its latest approval."""
    run = await get_run(conn, run_id, for_update=for_update)
    if run is None:
        return None
    return RunView(run=run, steps=await get_steps(conn, run_id), approvals=await approvals(conn, run_id))


def _assignments(fields: dict[str, Any], allowed: frozenset[str]) -> tuple[sql.Composed, list[Any]]:
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    parts = [sql.SQL("{} = %s").format(sql.Identifier(name)) for name in fields]
    values = [Jsonb(v) if name in _JSON and v is not None else v for name, v in fields.items()]
    return sql.SQL(", ").join(parts), values


async def update_run(tx: Tx, run_id: int, at: datetime, **fields: Any) -> None:
    sets, values = _assignments(fields, _RUN_FIELDS)
    query = sql.SQL("UPDATE runbook_runs SET {}, updated_at = %s WHERE id = %s").format(sets)
    await tx.execute(query, [*values, at, run_id])


async def update_step(tx: Tx, run_id: int, position: int, **fields: Any) -> None:
    sets, values = _assignments(fields, _STEP_FIELDS)
    query = sql.SQL("UPDATE run_steps SET {} WHERE run_id = %s AND position = %s").format(sets)
    await tx.execute(query, [*values, run_id, position])


async def cancel_open_steps(tx: Tx, run_id: int, at: datetime) -> None:
    """Steps that will now never run (pending, or waiting for a confirmation that will not come)."""
    await tx.execute(
        "UPDATE run_steps SET status = %s, finished_at = CASE WHEN status = 'waiting' THEN %s END"
        " WHERE run_id = %s AND status IN ('pending', 'waiting')",
        (StepStatus.CANCELLED.value, at, run_id))


async def set_message_ts(conn: Tx, run_id: int, outbox_id: int, channel: str, ts: str) -> None:
    """Slack accepted the run's message; ignored if a newer message replaced it meanwhile."""
    await conn.execute(
        "UPDATE runbook_runs SET channel = %s, message_ts = %s WHERE id = %s AND message_outbox_id = %s",
        (channel, ts, run_id, outbox_id))


# -- approvals ---------------------------------------------------------------------------------------


async def insert_approval(tx: Tx, run_id: int, position: int, requested_by: str, confirm_text: str,
                          requested_at: datetime, expires_at: datetime) -> Approval:
    cur = await tx.execute(
        "INSERT INTO approvals (run_id, position, requested_by, confirm_text, requested_at, expires_at)"
        f" VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_APPROVAL}",
        (run_id, position, requested_by, confirm_text, requested_at, expires_at))
    row = await cur.fetchone()
    assert row is not None
    return Approval.model_validate(dict(row))


async def get_approval(conn: Tx, run_id: int, position: int) -> Approval | None:
    cur = await conn.execute(f"SELECT {_APPROVAL} FROM approvals WHERE run_id = %s AND position = %s",
                             (run_id, position))
    row = await cur.fetchone()
    return Approval.model_validate(dict(row)) if row else None


async def approvals(conn: Tx, run_id: int) -> list[Approval]:
    cur = await conn.execute(f"SELECT {_APPROVAL} FROM approvals WHERE run_id = %s ORDER BY requested_at, id",
                             (run_id,))
    return [Approval.model_validate(dict(r)) for r in await cur.fetchall()]


async def claim_approval(tx: Tx, approval_id: int, approver: str, at: datetime) -> Approval | None:
    """Approve a pending, unexpired approval; None for everyone but the one caller that did."""
    cur = await tx.execute(
        "UPDATE approvals SET decision = 'approved', approved_by = %s, decided_at = %s"
        f" WHERE id = %s AND decision = 'pending' AND expires_at > %s RETURNING {_APPROVAL}",
        (approver, at, approval_id, at))
    row = await cur.fetchone()
    return Approval.model_validate(dict(row)) if row else None


async def close_pending_approvals(tx: Tx, run_id: int, decision: Decision, at: datetime) -> list[Approval]:
    cur = await tx.execute(
        f"UPDATE approvals SET decision = %s, decided_at = %s WHERE run_id = %s AND decision = 'pending'"
        f" RETURNING {_APPROVAL}", (decision.value, at, run_id))
    return [Approval.model_validate(dict(r)) for r in await cur.fetchall()]


# -- fencing and the environment's history ---------------------------------------------------------


async def fence(tx: Tx, environment: str, token: int, run_id: int) -> bool:
    """Record `token` as the newest to act on `environment`; False when a newer token already has."""
    cur = await tx.execute(
        "INSERT INTO environment_fences AS f (environment, token, run_id) VALUES (%s, %s, %s)"
        " ON CONFLICT (environment) DO UPDATE SET token = excluded.token, run_id = excluded.run_id, updated_at = now()"
        " WHERE f.token <= excluded.token RETURNING token",
        (environment, token, run_id))
    return await cur.fetchone() is not None


async def later_run(conn: Tx, environment: str, run_id: int) -> Run | None:
    """The first run in `environment` started after `run_id`, if any (it changed what this one left)."""
    cur = await conn.execute(
        f"SELECT {_RUN} FROM runbook_runs WHERE environment = %s AND id > %s ORDER BY id LIMIT 1",
        (environment, run_id))
    row = await cur.fetchone()
    return _run(row) if row else None


async def unfinished(conn: Tx, statuses: list[RunStatus]) -> list[Run]:
    cur = await conn.execute(f"SELECT {_RUN} FROM runbook_runs WHERE status = ANY(%s) ORDER BY id",
                             ([s.value for s in statuses],))
    return [_run(r) for r in await cur.fetchall()]


async def set_message_row(tx: Tx, run_id: int, channel: str, outbox_id: int) -> None:
    """The run's message is queued: its thread will live there (ts known once Slack accepted it)."""
    await tx.execute("UPDATE runbook_runs SET channel = %s, message_ts = NULL, message_outbox_id = %s WHERE id = %s",
                     (channel, outbox_id, run_id))
