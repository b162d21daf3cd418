"""Group commit for webhook deliveries: requests that arrive together share one INSERT and one commit.

Each request still waits for the commit that holds its own row before it is answered, so a 2xx still means
"stored". A lone request is written at once (no timer, no added latency); under a storm, the deliveries
that arrive while one batch is at the database form the next batch, which is what keeps the webhook near
the cost of a bare INSERT per request.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from bot.store import alerts as alert_rows
from bot.store.alerts import NewNotification
from bot.store.db import Store

log = logging.getLogger(__name__)

MAX_BATCH = 500  # rows per INSERT
MAX_BATCH_BYTES = 8 * 1024 * 1024  # bodies per INSERT (a batch holds at least one, up to the 1 MiB cap)
IN_FLIGHT = 2  # batches at the database at once: one being written while the next one fills


class Unstorable(ValueError):
    """PostgreSQL refused this delivery's content itself (e.g. a \\u0000 in a string): retrying won't help."""


@dataclass
class _Waiting:
    row: NewNotification
    answers: list["asyncio.Future[int | None]"] = field(default_factory=list)


class NotificationIntake:
    """`store` answers the new row's id, or None for a duplicate (same digest, stored before or in the same
    batch); it raises what the database raised, or `Unstorable`."""

    def __init__(self, store: Store, stored: Callable[[], None]) -> None:
        self._store = store
        self._stored = stored
        self._queue: dict[str, _Waiting] = {}  # by digest, in arrival order
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def store(self, row: NewNotification) -> int | None:
        answer: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        waiting = self._queue.get(row.digest)
        if waiting is None:
            self._queue[row.digest] = _Waiting(row, [answer])
        else:
            waiting.answers.append(answer)
        self._flush_soon()
        try:
            # Shielded: a caller that goes away (client disconnect) must not cancel its batch-mates' write.
            return await asyncio.shield(answer)
        except asyncio.CancelledError:
            # Nobody will read this answer now; an error in it is the webhook log's to tell, not asyncio's.
            answer.add_done_callback(lambda done: done.cancelled() or done.exception())
            raise

    def _flush_soon(self) -> None:
        while self._queue and self._in_flight < IN_FLIGHT:
            batch: list[_Waiting] = []
            size = 0
            for digest in list(self._queue)[:MAX_BATCH]:
                size += len(self._queue[digest].row.payload)
                if batch and size > MAX_BATCH_BYTES:
                    break
                batch.append(self._queue.pop(digest))
            self._in_flight += 1
            task = asyncio.get_running_loop().create_task(self._flush(batch), name="alert-intake")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _flush(self, batch: list[_Waiting]) -> None:
        try:
            await self._write(batch)
        finally:
            self._in_flight -= 1
            self._flush_soon()

    async def _write(self, batch: list[_Waiting]) -> None:
        try:
            ids = await alert_rows.insert_notifications(self._store, [w.row for w in batch])
        except psycopg.DataError as exc:
            if len(batch) == 1:
                raise_into(batch[0], unstorable(exc))
                return
            # One delivery's content spoils the statement: write each alone, so only that one is refused.
            for waiting in batch:
                await self._write([waiting])
            return
        except Exception as exc:  # storage down, pool timeout: every caller in the batch answers 503
            for waiting in batch:
                raise_into(waiting, exc)
            return
        except BaseException:  # cancelled at shutdown: the callers still answer (5xx: Alertmanager retries)
            for waiting in batch:
                raise_into(waiting, ConnectionError("storage write interrupted by shutdown"))
            raise
        if ids:
            self._stored()
        for waiting in batch:
            row_id = ids.get(waiting.row.digest)
            first, *repeats = waiting.answers
            settle(first, row_id)
            for answer in repeats:
                settle(answer, None)  # the same delivery twice in one batch: the second is a duplicate


def settle(answer: "asyncio.Future[int | None]", value: int | None) -> None:
    if not answer.done():
        answer.set_result(value)


def unstorable(exc: psycopg.DataError) -> Unstorable:
    reason = ": ".join(filter(None, (exc.diag.message_primary, exc.diag.message_detail))) or str(exc)
    error = Unstorable(f"PostgreSQL cannot store this payload ({reason})")
    error.__cause__ = exc
    return error


def raise_into(waiting: _Waiting, exc: Exception) -> None:
    for answer in waiting.answers:
        if not answer.done():
            answer.set_exception(exc)
