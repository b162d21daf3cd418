"""What the engine tells presentation layers: one RunChange per committed transition.

`changed` runs inside the engine's transaction, so what an observer queues (the Slack outbox) commits or
rolls back with the run's own state; `committed` runs after the commit (e.g. to wake the sender).
"""

from typing import Protocol

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from bot.engine.model import RunChange

Tx = AsyncConnection[DictRow]


class RunObserver(Protocol):
    async def changed(self, tx: Tx, change: RunChange) -> None: ...

    def committed(self) -> None: ...


class NoObserver:
    async def changed(self, tx: Tx, change: RunChange) -> None:
        return None

    def committed(self) -> None:
        return None
