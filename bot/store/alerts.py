"""alert_notifications and alerts: webhook deliveries as received, and each alert's state per group."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from bot.store.db import Store

Tx = AsyncConnection[DictRow]

@dataclass(frozen=True)
class NewNotification:
    """A delivery as received: `payload` is the request's JSON text, kept word for word."""

    receiver: str
    group_key: str
    status: str
    digest: str
    payload: str


async def insert_notifications(store: Store, rows: list[NewNotification]) -> dict[str, int]:
    """Store deliveries (distinct digests) in one statement, ids in list order; the new rows' ids by digest,
    without the duplicates (a digest stored before). Committed when this returns."""
    async with store.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO alert_notifications (receiver, group_key, status, digest, payload)"
            " SELECT r, g, s, d, p::jsonb FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[])"
            " WITH ORDINALITY AS u(r, g, s, d, p, n) ORDER BY n"
            " ON CONFLICT (digest) DO NOTHING RETURNING id, digest",
            ([r.receiver for r in rows], [r.group_key for r in rows], [r.status for r in rows],
             [r.digest for r in rows], [r.payload for r in rows]))
        return {r["digest"]: int(r["id"]) for r in await cur.fetchall()}


@dataclass(frozen=True)
class GroupRef:
    receiver: str
    group_key: str


async def pending_groups(store: Store, limit: int = 100) -> list[GroupRef]:
    """Groups with unprocessed deliveries, the longest waiting first."""
    async with store.connection() as conn:
        cur = await conn.execute(
            "SELECT receiver, group_key, min(id) AS first FROM alert_notifications WHERE processed_at IS NULL"
            " GROUP BY receiver, group_key ORDER BY first LIMIT %s", (limit,))
        return [GroupRef(r["receiver"], r["group_key"]) for r in await cur.fetchall()]


async def pending_count(store: Store) -> int:
    async with store.connection() as conn:
        cur = await conn.execute("SELECT count(*) AS n FROM alert_notifications WHERE processed_at IS NULL")
        row = await cur.fetchone()
    return int(row["n"]) if row else 0


@dataclass(frozen=True)
class PendingNotification:
    id: int
    payload: dict[str, Any]
    received_at: datetime


# One statement: take the group's transaction-scoped lock (one processor, in any bot process, per group)
# and mark its pending deliveries processed; a rollback puts them back.
_TAKE = """
UPDATE alert_notifications SET processed_at = now()
WHERE id IN (
    SELECT id FROM alert_notifications
    WHERE processed_at IS NULL AND receiver = %(receiver)s AND group_key = %(group_key)s
      AND pg_try_advisory_xact_lock(hashtextextended(%(lock)s, 7261))
    ORDER BY id LIMIT %(limit)s)
RETURNING id, payload, received_at
"""


async def take_pending(tx: Tx, group: GroupRef, limit: int = 500) -> list[PendingNotification]:
    """The group's pending deliveries in arrival order; none when another processor holds the group."""
    cur = await tx.execute(_TAKE, {"receiver": group.receiver, "group_key": group.group_key,
                                   "lock": f"{group.receiver}\x1f{group.group_key}", "limit": limit})
    rows = [PendingNotification(r["id"], r["payload"], r["received_at"]) for r in await cur.fetchall()]
    return sorted(rows, key=lambda p: p.id)


async def mark_failed(store: Store, ids: list[int], error: str, give_up_after: int) -> None:
    """Count a failed attempt; after `give_up_after` the deliveries are set aside so the group moves on."""
    async with store.connection() as conn:
        await conn.execute(
            "UPDATE alert_notifications SET process_attempts = process_attempts + 1, process_error = %s,"
            " processed_at = CASE WHEN process_attempts + 1 >= %s THEN now() END WHERE id = ANY(%s)",
            (error[:2000], give_up_after, ids))


class AlertRow:
    """An alert as its incident knows it: the newest state seen (only the alert processor writes these).

    Labels and annotations may arrive as the stored JSON text and are parsed on first use: a storm reloads
    big groups many times, and most rows are only looked at for their status.
    """

    __slots__ = ("_annotations", "_labels", "ends_at", "fingerprint", "generator_url", "incident_id",
                 "last_notification_id", "severity", "starts_at", "status")

    def __init__(self, fingerprint: str, labels: dict[str, str] | str, annotations: dict[str, str] | str,
                 generator_url: str, incident_id: int | None, status: str | None, starts_at: datetime | None,
                 ends_at: datetime | None, severity: str | None, last_notification_id: int | None = None) -> None:
        self.fingerprint = fingerprint
        self._labels = labels
        self._annotations = annotations
        self.generator_url = generator_url
        self.incident_id = incident_id
        self.status = status  # None: not recorded yet
        self.starts_at = starts_at
        self.ends_at = ends_at
        self.severity = severity
        self.last_notification_id = last_notification_id

    @property
    def labels(self) -> dict[str, str]:
        if isinstance(self._labels, str):
            self._labels = json.loads(self._labels)
        assert isinstance(self._labels, dict)
        return self._labels

    @labels.setter
    def labels(self, value: dict[str, str]) -> None:
        self._labels = value

    @property
    def annotations(self) -> dict[str, str]:
        if isinstance(self._annotations, str):
            self._annotations = json.loads(self._annotations)
        assert isinstance(self._annotations, dict)
        return self._annotations

    @annotations.setter
    def annotations(self, value: dict[str, str]) -> None:
        self._annotations = value


_ROW_COLUMNS = ("fingerprint, labels::text AS labels, annotations::text AS annotations,"
                " coalesce(generator_url, '') AS generator_url, incident_id,"
                " status, starts_at, ends_at, severity, last_notification_id")


def _row(r: DictRow) -> AlertRow:
    return AlertRow(r["fingerprint"], r["labels"], r["annotations"], r["generator_url"], r["incident_id"],
                    r["status"], r["starts_at"], r["ends_at"], r["severity"], r["last_notification_id"])


async def group_alerts(tx: Tx, group: GroupRef) -> list[AlertRow]:
    cur = await tx.execute(
        f"SELECT {_ROW_COLUMNS} FROM alerts WHERE receiver = %s AND group_key = %s ORDER BY fingerprint",
        (group.receiver, group.group_key))
    return [_row(r) for r in await cur.fetchall()]


async def incident_alerts(conn: Tx, incident_id: int) -> list[AlertRow]:
    cur = await conn.execute(
        f"SELECT {_ROW_COLUMNS} FROM alerts WHERE incident_id = %s"
        " ORDER BY starts_at, fingerprint", (incident_id,))
    return [_row(r) for r in await cur.fetchall()]


async def save_alerts(tx: Tx, group: GroupRef, rows: list[AlertRow]) -> None:
    """Upsert these alerts' state in one statement, in fingerprint order (one lock order for every writer)."""
    ready = sorted((r for r in rows if r.status is not None and r.starts_at is not None), key=lambda r: r.fingerprint)
    if not ready:
        return
    # One JSON parameter, not one array per column: far cheaper to encode for a storm's worth of rows.
    records = [{"f": r.fingerprint, "i": r.incident_id, "s": r.status, "l": r.labels, "a": r.annotations,
                "sa": r.starts_at.isoformat() if r.starts_at else None,
                "ea": r.ends_at.isoformat() if r.ends_at else None, "g": r.generator_url, "sv": r.severity,
                "n": r.last_notification_id} for r in ready]
    await tx.execute(
        "INSERT INTO alerts (receiver, group_key, fingerprint, incident_id, status, labels, annotations,"
        " starts_at, ends_at, generator_url, severity, last_notification_id, updated_at)"
        " SELECT %s, %s, f, i, s, l, a, sa, ea, g, sv, n, now() FROM jsonb_to_recordset(%s::jsonb)"
        " AS u(f text, i bigint, s text, l jsonb, a jsonb, sa timestamptz, ea timestamptz, g text, sv text, n bigint)"
        " ORDER BY f"
        " ON CONFLICT (receiver, group_key, fingerprint) DO UPDATE SET incident_id = excluded.incident_id,"
        " status = excluded.status, labels = excluded.labels, annotations = excluded.annotations,"
        " starts_at = excluded.starts_at, ends_at = excluded.ends_at, generator_url = excluded.generator_url,"
        " severity = excluded.severity, last_notification_id = excluded.last_notification_id, updated_at = now()",
        (group.receiver, group.group_key, Jsonb(records)))
