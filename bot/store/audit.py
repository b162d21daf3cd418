"""The audit table: who did what, where, and whether it was accepted."""

from dataclasses import dataclass
from typing import Literal

from bot.logs import request_id
from bot.store.db import Store

Outcome = Literal["accepted", "refused"]


@dataclass(frozen=True)
class AuditEntry:
    actor: str | None
    kind: str
    action: str
    detail: str
    channel: str | None
    outcome: Outcome
    reason: str | None = None


async def record(store: Store, entry: AuditEntry) -> None:
    async with store.connection() as conn:
        await conn.execute(
            "INSERT INTO audit_log (actor, kind, action, detail, channel, outcome, reason, request_id)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (entry.actor, entry.kind, entry.action, entry.detail[:4000], entry.channel,
             entry.outcome, entry.reason, request_id.get()),
        )


async def recent(store: Store, limit: int = 50) -> list[dict]:  # type: ignore[type-arg]
    async with store.connection() as conn:
        cur = await conn.execute("SELECT * FROM audit_log ORDER BY id DESC LIMIT %s", (limit,))
        return list(await cur.fetchall())
