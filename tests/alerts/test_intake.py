"""Group commit: deliveries that arrive together share INSERTs, within a bound on one statement's size."""

import asyncio
import json

import psycopg

from bot.alerts.intake import MAX_BATCH_BYTES, NotificationIntake
from bot.store.alerts import NewNotification
from bot.store.db import Store


def delivery(i: int, size: int) -> NewNotification:
    payload = json.dumps({"version": "4", "groupKey": f"g{i}", "padding": "x" * size})
    return NewNotification("bot", f"g{i}", "firing", f"digest-{i}", payload)


async def test_big_deliveries_arriving_together_are_split_to_bound_each_statement(store: Store) -> None:
    woken = []
    intake = NotificationIntake(store, lambda: woken.append(1))
    size = 900 * 1024
    rows = [delivery(i, size) for i in range(12)]  # ≈ 10.5 MiB: more than one statement may carry

    ids = await asyncio.gather(*(intake.store(r) for r in rows))

    assert len(set(ids)) == 12 and None not in ids
    async with await psycopg.AsyncConnection.connect(store.url) as conn:
        cur = await conn.execute("SELECT xmin::text, sum(octet_length(payload::text)) FROM alert_notifications"
                                 " GROUP BY 1")
        per_commit = [int(total) for _, total in await cur.fetchall()]
    # Each INSERT is its own commit (autocommit): its rows share an xmin.
    assert len(per_commit) >= 2
    assert max(per_commit) <= MAX_BATCH_BYTES
    assert woken  # the processor is told there is work


async def test_one_delivery_over_the_byte_bound_is_still_stored_alone(store: Store) -> None:
    intake = NotificationIntake(store, lambda: None)
    big = delivery(1, MAX_BATCH_BYTES + 1024)  # only the webhook's 1 MiB cap keeps real ones smaller
    assert await intake.store(big) is not None
    assert await intake.store(big) is None  # and a second delivery of it is a duplicate
