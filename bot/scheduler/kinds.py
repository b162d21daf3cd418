"""What the scheduler knows of a timer kind: its handler and, for slow work, a prepare step with its lease.
Checked when registered, so a handler that could not be called fails at startup, not when a timer fires."""

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.scheduler.model import Timer

Handler = Callable[[Timer], Awaitable[None]]
Prepare = Callable[[Timer], Awaitable[Any]]


@dataclass(frozen=True)
class Kind:
    handler: Callable[..., Awaitable[None]]  # (timer), or with a prepare step (timer, prepared)
    prepare: Prepare | None
    lease: timedelta  # how long a timer being prepared is reserved for the process preparing it

    @classmethod
    def checked(cls, kind: str, handler: Callable[..., Awaitable[None]], prepare: Prepare | None,
                lease: timedelta) -> "Kind":
        if lease <= timedelta():
            raise ValueError(f"lease for {kind!r} must be positive, e.g. timedelta(minutes=5)")
        if prepare is None:
            _require_callable(handler, 1, f"handler for {kind!r} must be an async callable taking the timer")
        else:
            _require_callable(handler, 2, f"handler for {kind!r} has a prepare step, so it must be an async"
                                          " callable taking the timer and what prepare returned")
            _require_callable(prepare, 1, f"prepare for {kind!r} must be an async callable taking the timer")
        return cls(handler, prepare, lease)


def _require_callable(fn: object, arguments: int, message: str) -> None:
    if not callable(fn):
        raise TypeError(message)
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # some callables (builtins) have none to check
        return
    try:
        signature.bind(*[None] * arguments)
    except TypeError:
        raise TypeError(f"{message}; {fn!r} takes {signature}") from None
