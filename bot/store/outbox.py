"""slack_outbox: Slack Web API calls to make, in order per lane, surviving restarts and Slack outages."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from bot.store.db import Store

Tx = AsyncConnection[DictRow]

_INSERT = """
INSERT INTO slack_outbox (method, args, ordering_key, coalesce_key, refs, tag, render)
VALUES (%(method)s, %(args)s, %(ordering_key)s, %(key)s, %(refs)s, %(tag)s, %(render)s) RETURNING id
"""

# One statement: older pending, unclaimed rows with the key are superseded, the new row goes in. (The
# update cannot see the new row: both run on one snapshot.)
_REPLACE = """
WITH gone AS (
    UPDATE slack_outbox SET state = 'superseded'
    WHERE coalesce_key = %(key)s AND state = 'pending' AND (claimed_until IS NULL OR claimed_until < now())
)
""" + _INSERT

# One statement: append blocks and text to the latest pending, unclaimed row with the key when it fits
# (same method, same refs, same other args), else insert a new row.
_APPEND = """
WITH merged AS (
    UPDATE slack_outbox SET args = jsonb_set(
            jsonb_set(args, '{blocks}', coalesce(args->'blocks', '[]'::jsonb) || %(blocks)s),
            '{text}', to_jsonb(coalesce(args->>'text', '') || E'\\n' || %(text)s))
    WHERE id = (
        SELECT id FROM slack_outbox
        WHERE coalesce_key = %(key)s AND state = 'pending' AND (claimed_until IS NULL OR claimed_until < now())
          AND method = %(method)s AND refs = %(refs)s AND (args - 'blocks' - 'text') = %(rest)s
        ORDER BY id DESC LIMIT 1 FOR UPDATE)
      AND jsonb_array_length(coalesce(args->'blocks', '[]'::jsonb)) + %(n_blocks)s <= %(max_blocks)s
      AND length(coalesce(args->>'text', '')) + %(n_text)s <= %(max_text)s
    RETURNING id
), added AS (
    INSERT INTO slack_outbox (method, args, ordering_key, coalesce_key, refs, tag, render)
    SELECT %(method)s, %(args)s, %(ordering_key)s, %(key)s, %(refs)s, %(tag)s, %(render)s
    WHERE NOT EXISTS (SELECT 1 FROM merged)
    RETURNING id
)
SELECT id FROM merged UNION ALL SELECT id FROM added
"""

_HEADS = """
WITH heads AS (
    SELECT DISTINCT ON (lane) id, lane, next_try_at, claimed_until
    FROM slack_outbox WHERE state = 'pending' ORDER BY lane, id
)
SELECT h.id, greatest(h.next_try_at, coalesce(l.last + make_interval(secs => %(gap)s), '-infinity')) AS due_at,
       now() AS now
FROM heads h
LEFT JOIN LATERAL (SELECT max(s.sent_at) AS last FROM slack_outbox s WHERE s.lane = h.lane AND s.state = 'sent') l
       ON true
WHERE h.claimed_until IS NULL OR h.claimed_until < now()
ORDER BY due_at LIMIT %(limit)s
"""

# Only the head of its lane may be claimed: that is what keeps a lane in order across processes.
_CLAIM = """
UPDATE slack_outbox o SET claimed_until = now() + make_interval(secs => %(lease)s), attempts = attempts + 1
WHERE o.id = %(id)s AND o.state = 'pending' AND (o.claimed_until IS NULL OR o.claimed_until < now())
  AND NOT EXISTS (SELECT 1 FROM slack_outbox e WHERE e.lane = o.lane AND e.state = 'pending' AND e.id < o.id)
RETURNING id, method, args, refs, tag, render, ordering_key, attempts
"""


async def insert(tx: Tx, method: str, args: dict[str, Any], *, ordering_key: str | None,
                 coalesce_key: str | None, refs: dict[str, list[Any]], tag: str | None,
                 render: str | None = None, mode: str | None = None, max_blocks: int = 50,
                 max_text: int = 3000) -> int:
    """Queue a row; `mode` "replace" supersedes pending rows with the key, "append" merges into one."""
    params: dict[str, Any] = {"method": method, "args": Jsonb(args), "ordering_key": ordering_key,
                              "key": coalesce_key, "refs": Jsonb(refs), "tag": tag, "render": render}
    sql = _INSERT
    if coalesce_key is not None and mode == "replace":
        sql = _REPLACE
    elif coalesce_key is not None and mode == "append":
        blocks = args.get("blocks") or []
        text = str(args.get("text") or "")
        sql = _APPEND
        params.update(blocks=Jsonb(blocks), text=text, rest=Jsonb({k: v for k, v in args.items()
                                                                    if k not in ("blocks", "text")}),
                      n_blocks=len(blocks), max_blocks=max_blocks, n_text=len(text) + 1, max_text=max_text)
    cur = await tx.execute(sql, params)
    row = await cur.fetchone()
    assert row is not None
    return int(row["id"])


@dataclass(frozen=True)
class Head:
    id: int
    due_at: datetime


async def heads(store: Store, gap_s: float, limit: int) -> tuple[list[Head], datetime]:
    """First pending row of each lane with the time it may be sent; and the database's now."""
    async with store.connection() as conn:
        cur = await conn.execute(_HEADS, {"gap": gap_s, "limit": limit})
        rows = await cur.fetchall()
        if rows:
            return [Head(r["id"], r["due_at"]) for r in rows], rows[0]["now"]
        cur = await conn.execute("SELECT now() AS now")
        row = await cur.fetchone()
        assert row is not None
        return [], row["now"]


@dataclass(frozen=True)
class Claimed:
    id: int
    method: str
    args: dict[str, Any]
    refs: dict[str, list[Any]]
    tag: str | None
    render: str | None
    ordering_key: str | None
    attempts: int


async def claim(store: Store, row_id: int, lease_s: float) -> Claimed | None:
    async with store.connection() as conn:
        cur = await conn.execute(_CLAIM, {"id": row_id, "lease": lease_s})
        r = await cur.fetchone()
    if r is None:
        return None
    return Claimed(r["id"], r["method"], r["args"], r["refs"], r["tag"], r["render"], r["ordering_key"],
                   r["attempts"])


@dataclass(frozen=True)
class RefState:
    state: str
    result: dict[str, Any] | None


async def ref_states(store: Store, ids: list[int]) -> dict[int, RefState]:
    async with store.connection() as conn:
        cur = await conn.execute("SELECT id, state, result FROM slack_outbox WHERE id = ANY(%s)", (ids,))
        return {r["id"]: RefState(r["state"], r["result"]) for r in await cur.fetchall()}


async def mark_sent(store: Store, row_id: int, result: dict[str, Any]) -> None:
    async with store.connection() as conn:
        await conn.execute(
            "UPDATE slack_outbox SET state = 'sent', sent_at = now(), result = %s, claimed_until = NULL,"
            " last_error = NULL WHERE id = %s", (Jsonb(result), row_id))


async def mark_failed(store: Store, row_id: int, error: str) -> None:
    async with store.connection() as conn:
        await conn.execute(
            "UPDATE slack_outbox SET state = 'failed', last_error = %s, claimed_until = NULL WHERE id = %s",
            (error[:2000], row_id))


async def retry_later(store: Store, row_id: int, delay_s: float, error: str) -> None:
    async with store.connection() as conn:
        await conn.execute(
            "UPDATE slack_outbox SET next_try_at = now() + make_interval(secs => %s), last_error = %s,"
            " claimed_until = NULL WHERE id = %s", (delay_s, error[:2000], row_id))


async def pending_count(store: Store) -> int:
    async with store.connection() as conn:
        cur = await conn.execute("SELECT count(*) AS n FROM slack_outbox WHERE state = 'pending'")
        row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def prune(store: Store, keep_days: int) -> int:
    async with store.connection() as conn:
        cur = await conn.execute(
            "DELETE FROM slack_outbox WHERE state <> 'pending' AND created_at < now() - make_interval(days => %s)",
            (keep_days,))
        return cur.rowcount
