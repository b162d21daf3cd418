"""incidents and timeline_events."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from bot.incidents.model import AlertGroup, Incident, TimelineEvent, TimelineKind
from bot.incidents.severity import Severity

Tx = AsyncConnection[DictRow]

_COLUMNS = (
    "id, severity, title, status, source, am_receiver, am_group_key, am_context, commander, declared_by,"
    " channel, thread_ts, header_outbox_id, opened_at, acknowledged_at, acknowledged_by, mitigated_at,"
    " resolved_at, resolved_by, summary, reopened_count, silenced_until, silenced_by, updated_at"
)
# Columns a lifecycle step may change; identity and thread position are written by their own functions.
_MUTABLE = (
    "severity", "title", "status", "commander", "acknowledged_at", "acknowledged_by", "mitigated_at",
    "resolved_at", "resolved_by", "summary", "reopened_count", "silenced_until", "silenced_by", "updated_at",
)


def _incident(row: DictRow) -> Incident:
    data: dict[str, Any] = dict(row)
    context = data.pop("am_context")
    data["alert_group"] = AlertGroup.model_validate(context) if context else None
    return Incident.model_validate(data)


@dataclass(frozen=True)
class NewIncident:
    severity: Severity
    title: str
    source: str
    opened_at: datetime
    alert_group: AlertGroup | None = None
    declared_by: str | None = None


async def insert(tx: Tx, new: NewIncident) -> Incident:
    group = new.alert_group
    cur = await tx.execute(
        "INSERT INTO incidents (severity, title, source, am_receiver, am_group_key, am_context, declared_by,"
        f" opened_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
        (new.severity.value, new.title[:500], new.source, group.receiver if group else None,
         group.group_key if group else None, Jsonb(group.model_dump(mode="json")) if group else None,
         new.declared_by, new.opened_at, new.opened_at))
    row = await cur.fetchone()
    assert row is not None
    return _incident(row)


async def update(tx: Tx, incident: Incident) -> Incident:
    """Write what a lifecycle step may change (and the alert group's latest context)."""
    sets = ", ".join(f"{c} = %s" for c in _MUTABLE)
    values = [getattr(incident, c).value if c in ("severity", "status") else getattr(incident, c) for c in _MUTABLE]
    group = incident.alert_group
    cur = await tx.execute(
        f"UPDATE incidents SET {sets}, am_context = coalesce(%s, am_context) WHERE id = %s RETURNING {_COLUMNS}",
        (*values, Jsonb(group.model_dump(mode="json")) if group else None, incident.id))
    row = await cur.fetchone()
    assert row is not None
    return _incident(row)


async def get(conn: Tx, incident_id: int, *, for_update: bool = False) -> Incident | None:
    lock = " FOR UPDATE" if for_update else ""
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM incidents WHERE id = %s{lock}", (incident_id,))
    row = await cur.fetchone()
    return _incident(row) if row else None


async def latest_for_group(tx: Tx, receiver: str, group_key: str) -> Incident | None:
    """The group's most recent incident (open or resolved), locked for the caller's transaction."""
    cur = await tx.execute(
        f"SELECT {_COLUMNS} FROM incidents WHERE am_receiver = %s AND am_group_key = %s"
        " ORDER BY opened_at DESC, id DESC LIMIT 1 FOR UPDATE", (receiver, group_key))
    row = await cur.fetchone()
    return _incident(row) if row else None


async def by_thread(conn: Tx, channel: str, thread_ts: str) -> Incident | None:
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM incidents WHERE channel = %s AND thread_ts = %s",
                             (channel, thread_ts))
    row = await cur.fetchone()
    return _incident(row) if row else None


async def list_open(conn: Tx) -> list[Incident]:
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM incidents WHERE status = 'open' ORDER BY opened_at")
    return [_incident(r) for r in await cur.fetchall()]


async def set_header(tx: Tx, incident_id: int, channel: str, header_outbox_id: int) -> None:
    """A new header message is queued: the incident's thread will live there (ts known once sent)."""
    await tx.execute("UPDATE incidents SET channel = %s, thread_ts = NULL, header_outbox_id = %s WHERE id = %s",
                     (channel, header_outbox_id, incident_id))


async def set_thread_ts(conn: Tx, incident_id: int, header_outbox_id: int, channel: str, ts: str) -> None:
    """Slack accepted the header; ignored if a newer header replaced it meanwhile."""
    await conn.execute(
        "UPDATE incidents SET channel = %s, thread_ts = %s WHERE id = %s AND header_outbox_id = %s",
        (channel, ts, incident_id, header_outbox_id))


async def add_events(tx: Tx, events: list[TimelineEvent]) -> list[TimelineEvent]:
    """Insert events in one statement (a storm brings hundreds); returns them with their ids."""
    if not events:
        return []
    rows = [{"incident_id": e.incident_id, "at": e.at.isoformat(), "kind": e.kind.value, "actor": e.actor,
             "text": e.text, "data": e.data} for e in events]
    cur = await tx.execute(
        # Inserted in input order, so the ids (from one sequence) ascend in that order too.
        "INSERT INTO timeline_events (incident_id, at, kind, actor, text, data)"
        " SELECT incident_id, at, kind, actor, text, data FROM ROWS FROM (jsonb_to_recordset(%s::jsonb)"
        " AS (incident_id bigint, at timestamptz, kind text, actor text, text text, data jsonb)) WITH ORDINALITY"
        " AS x(incident_id, at, kind, actor, text, data, n) ORDER BY n RETURNING id", (Jsonb(rows),))
    ids = sorted(int(r["id"]) for r in await cur.fetchall())
    return [e.model_copy(update={"id": i}) for e, i in zip(events, ids, strict=True)]


async def timeline(conn: Tx, incident_id: int, kinds: Iterable[TimelineKind] | None = None) -> list[TimelineEvent]:
    """The incident's events in order; only those `kinds` when given (a storm's incident has thousands)."""
    wanted = None if kinds is None else [k.value for k in kinds]
    cur = await conn.execute(
        "SELECT id, incident_id, at, kind, actor, text, data FROM timeline_events"
        " WHERE incident_id = %s AND (%s::text[] IS NULL OR kind = ANY(%s)) ORDER BY at, id",
        (incident_id, wanted, wanted))
    return [TimelineEvent.model_validate(dict(r)) for r in await cur.fetchall()]


# -- the response procedure (bot.response) and postmortems (bot.postmortem) ------------------------------

@dataclass(frozen=True)
class RunRecord:
    """A runbook run as an incident's diagnostics and postmortem show it."""

    id: int
    runbook: str
    title: str
    environment: str
    params: dict[str, Any]
    requested_by: str
    status: str
    incident_id: int | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class ApprovalRecord:
    """Who confirmed or approved which dangerous step of a run."""

    run_id: int
    position: int
    step: str
    requested_by: str
    approved_by: str | None
    decision: str
    decided_at: datetime | None


_RUN_COLUMNS = ("id, runbook, title, environment, params, requested_by, status, incident_id, created_at,"
                " finished_at")


async def runs_since(conn: Tx, since: datetime, limit: int = 20) -> list[RunRecord]:
    """Runbook runs started since `since`, newest first (recent changes, for diagnostics)."""
    cur = await conn.execute(
        f"SELECT {_RUN_COLUMNS} FROM runbook_runs WHERE created_at >= %s ORDER BY created_at DESC, id DESC"
        " LIMIT %s", (since, limit))
    return [RunRecord(**r) for r in await cur.fetchall()]


async def incident_runs(conn: Tx, incident_id: int) -> list[RunRecord]:
    cur = await conn.execute(
        f"SELECT {_RUN_COLUMNS} FROM runbook_runs WHERE incident_id = %s ORDER BY created_at, id", (incident_id,))
    return [RunRecord(**r) for r in await cur.fetchall()]


async def incident_approvals(conn: Tx, incident_id: int) -> list[ApprovalRecord]:
    cur = await conn.execute(
        "SELECT a.run_id, a.position, coalesce(s.name, '') AS step, a.requested_by, a.approved_by, a.decision,"
        " a.decided_at FROM approvals a JOIN runbook_runs r ON r.id = a.run_id"
        " LEFT JOIN run_steps s ON s.run_id = a.run_id AND s.position = a.position"
        " WHERE r.incident_id = %s ORDER BY a.run_id, a.position", (incident_id,))
    return [ApprovalRecord(**r) for r in await cur.fetchall()]


async def latest_events(conn: Tx, incident_id: int, kinds: list[str], limit: int = 1) -> list[TimelineEvent]:
    """The newest events of these kinds, newest first."""
    cur = await conn.execute(
        "SELECT id, incident_id, at, kind, actor, text, data FROM timeline_events"
        " WHERE incident_id = %s AND kind = ANY(%s) ORDER BY at DESC, id DESC LIMIT %s", (incident_id, kinds, limit))
    return [TimelineEvent.model_validate(dict(r)) for r in await cur.fetchall()]


async def set_mitigated(tx: Tx, incident_id: int, at: datetime) -> bool:
    """The first mitigation counts; True when this one was it."""
    cur = await tx.execute(
        "UPDATE incidents SET mitigated_at = %s WHERE id = %s AND mitigated_at IS NULL", (at, incident_id))
    return cur.rowcount == 1


async def open_incidents(conn: Tx) -> list[Incident]:
    """Open incidents, newest first (which one a command means when none is named)."""
    return list(reversed(await list_open(conn)))
