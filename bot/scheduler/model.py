"""A durable timer as stored, and what a handler receives when it fires."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow

Tx = AsyncConnection[DictRow]


class TimerState(StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"
    FAILED = "failed"  # gave up after max_attempts; the last error is kept


@dataclass(frozen=True)
class NewTimer:
    kind: str
    key: str
    due_at: datetime
    payload: dict[str, Any]
    incident_id: int | None = None
    run_id: int | None = None


@dataclass(frozen=True)
class Timer:
    id: int
    kind: str
    key: str
    due_at: datetime
    next_at: datetime
    payload: dict[str, Any]
    incident_id: int | None
    run_id: int | None
    created_at: datetime
    revision: int
    fired_at: datetime | None
    cancelled_at: datetime | None
    failed_at: datetime | None
    attempts: int
    last_error: str | None
    # Set only while a handler runs (never during a prepare): the transaction that marks this timer fired.
    # What a handler writes through it commits with the firing, or is rolled back (and retried) when the
    # handler raises.
    tx: Tx | None = field(default=None, repr=False, compare=False)

    @property
    def state(self) -> TimerState:
        if self.fired_at is not None:
            return TimerState.FIRED
        if self.cancelled_at is not None:
            return TimerState.CANCELLED
        if self.failed_at is not None:
            return TimerState.FAILED
        return TimerState.PENDING
