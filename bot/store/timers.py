"""timers: durable timers, claimed with FOR UPDATE SKIP LOCKED so each fires once across processes.

`revision` changes when a timer is re-armed and when a firing leases it (kinds with a slow prepare step):
a firing that finds another revision than the one it started with lost the timer and records nothing.
"""

from datetime import datetime

from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from bot.scheduler.model import NewTimer, Timer, Tx

_COLUMNS = ("id, kind, key, due_at, next_at, payload, incident_id, run_id, created_at, revision, fired_at,"
            " cancelled_at, failed_at, attempts, last_error")
_PENDING = "fired_at IS NULL AND cancelled_at IS NULL AND failed_at IS NULL"

_INSERT = f"""
INSERT INTO timers (kind, key, due_at, next_at, payload, incident_id, run_id)
VALUES (%(kind)s, %(key)s, %(due_at)s, %(due_at)s, %(payload)s, %(incident_id)s, %(run_id)s)
ON CONFLICT (key) DO NOTHING
RETURNING {_COLUMNS}
"""

# Re-arming waits for a firing in progress (the row lock) and then replaces it, whatever its state.
_REPLACE = f"""
INSERT INTO timers AS t (kind, key, due_at, next_at, payload, incident_id, run_id)
VALUES (%(kind)s, %(key)s, %(due_at)s, %(due_at)s, %(payload)s, %(incident_id)s, %(run_id)s)
ON CONFLICT (key) DO UPDATE SET
    kind = excluded.kind, due_at = excluded.due_at, next_at = excluded.next_at, payload = excluded.payload,
    incident_id = excluded.incident_id, run_id = excluded.run_id, revision = t.revision + 1,
    fired_at = NULL, cancelled_at = NULL, failed_at = NULL, attempts = 0, last_error = NULL
RETURNING {_COLUMNS}
"""

# Rows another process is firing are skipped, never waited for: that firing decides their fate.
_CLAIM = f"""
SELECT {_COLUMNS} FROM timers
WHERE {_PENDING} AND next_at <= %(now)s AND kind = ANY(%(kinds)s)
ORDER BY next_at, id
LIMIT 1
FOR UPDATE SKIP LOCKED
"""

# Leasing moves next_at past the slow part, so no process claims the row meanwhile, without holding a lock
# or a transaction while it runs; the new revision is the lease's token.
_LEASE = f"""
WITH due AS MATERIALIZED (
    SELECT id FROM timers
    WHERE {_PENDING} AND next_at <= %(now)s AND kind = ANY(%(kinds)s)
    ORDER BY next_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE timers SET next_at = %(until)s, revision = revision + 1
WHERE id IN (SELECT id FROM due)
RETURNING {_COLUMNS}
"""

# A cancel never waits for a timer being fired (its handler may be the one cancelling, on another
# connection); that timer completes its firing.
_CANCEL = f"""
UPDATE timers SET cancelled_at = %(at)s
WHERE id IN (SELECT id FROM timers WHERE {_PENDING} AND {{where}} FOR UPDATE SKIP LOCKED)
RETURNING id
"""


def _timer(row: DictRow) -> Timer:
    return Timer(**row)


def _params(new: NewTimer) -> dict[str, object]:
    return {"kind": new.kind, "key": new.key, "due_at": new.due_at, "payload": Jsonb(new.payload),
            "incident_id": new.incident_id, "run_id": new.run_id}


async def insert(conn: Tx, new: NewTimer) -> tuple[Timer, bool]:
    """Store a timer unless its key exists; the stored row and whether this call created it."""
    cur = await conn.execute(_INSERT, _params(new))
    row = await cur.fetchone()
    if row is not None:
        return _timer(row), True
    existing = await get(conn, new.key)
    if existing is None:  # deleted between the two statements; nothing deletes timers today
        raise LookupError(f"timer {new.key!r} vanished while being scheduled")
    return existing, False


async def replace(conn: Tx, new: NewTimer) -> Timer:
    cur = await conn.execute(_REPLACE, _params(new))
    row = await cur.fetchone()
    assert row is not None
    return _timer(row)


async def get(conn: Tx, key: str) -> Timer | None:
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM timers WHERE key = %s", (key,))
    row = await cur.fetchone()
    return _timer(row) if row else None


async def pending(conn: Tx, *, incident_id: int | None = None, run_id: int | None = None) -> list[Timer]:
    """Pending timers, soonest first, optionally of one incident or run."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM timers WHERE {_PENDING}"
        " AND (%(incident)s::bigint IS NULL OR incident_id = %(incident)s)"
        " AND (%(run)s::bigint IS NULL OR run_id = %(run)s) ORDER BY next_at, id",
        {"incident": incident_id, "run": run_id})
    return [_timer(r) for r in await cur.fetchall()]


async def claim_next(tx: Tx, kinds: list[str], now: datetime) -> Timer | None:
    """Lock the most overdue pending timer of these kinds for this transaction."""
    cur = await tx.execute(_CLAIM, {"now": now, "kinds": kinds})
    row = await cur.fetchone()
    return _timer(row) if row else None


async def lease_due(conn: Tx, kinds: list[str], now: datetime, until: datetime, limit: int) -> list[Timer]:
    """Lease up to `limit` due pending timers of these kinds until `until`; the leased rows, earliest due first."""
    cur = await conn.execute(_LEASE, {"now": now, "kinds": kinds, "until": until, "limit": limit})
    return sorted((_timer(r) for r in await cur.fetchall()), key=lambda t: (t.due_at, t.id))


async def lock(tx: Tx, timer_id: int) -> Timer | None:
    """The timer as it is now, locked for this transaction (waits for a firing or re-arm in progress)."""
    cur = await tx.execute(f"SELECT {_COLUMNS} FROM timers WHERE id = %s FOR UPDATE", (timer_id,))
    row = await cur.fetchone()
    return _timer(row) if row else None


async def release(conn: Tx, timer: Timer, at: datetime) -> bool:
    """Hand a leased timer back (due at `at`) unless it changed since: its lease was given up early."""
    cur = await conn.execute(
        f"UPDATE timers SET next_at = %s WHERE id = %s AND revision = %s AND {_PENDING}",
        (at, timer.id, timer.revision))
    return cur.rowcount == 1


async def mark_fired(tx: Tx, timer: Timer, at: datetime) -> bool:
    """False when the handler re-armed the timer meanwhile (it stays pending at its new time)."""
    cur = await tx.execute(
        "UPDATE timers SET fired_at = %s, attempts = attempts + 1 WHERE id = %s AND revision = %s",
        (at, timer.id, timer.revision))
    return cur.rowcount == 1


async def mark_failed(tx: Tx, timer: Timer, error: str, at: datetime, retry_at: datetime,
                      max_attempts: int) -> bool:
    """Count a failed attempt and retry at `retry_at`; True when that was the last attempt allowed."""
    cur = await tx.execute(
        "UPDATE timers SET attempts = attempts + 1, last_error = %(error)s, next_at = %(retry_at)s,"
        " failed_at = CASE WHEN attempts + 1 >= %(max)s THEN %(at)s::timestamptz END"
        f" WHERE id = %(id)s AND revision = %(revision)s AND {_PENDING} RETURNING failed_at",
        {"error": error[:4000], "retry_at": retry_at, "max": max_attempts, "at": at, "id": timer.id,
         "revision": timer.revision})
    row = await cur.fetchone()
    return bool(row and row["failed_at"] is not None)


async def cancel_key(conn: Tx, key: str, at: datetime) -> bool:
    cur = await conn.execute(_CANCEL.format(where="key = %(key)s"), {"key": key, "at": at})
    return len(await cur.fetchall()) > 0


async def cancel_incident(conn: Tx, incident_id: int, at: datetime, kinds: list[str] | None = None) -> int:
    cur = await conn.execute(
        _CANCEL.format(where="incident_id = %(id)s AND (%(kinds)s::text[] IS NULL OR kind = ANY(%(kinds)s))"),
        {"id": incident_id, "kinds": kinds, "at": at})
    return len(await cur.fetchall())


async def cancel_run(conn: Tx, run_id: int, at: datetime, kinds: list[str] | None = None) -> int:
    cur = await conn.execute(
        _CANCEL.format(where="run_id = %(id)s AND (%(kinds)s::text[] IS NULL OR kind = ANY(%(kinds)s))"),
        {"id": run_id, "kinds": kinds, "at": at})
    return len(await cur.fetchall())
