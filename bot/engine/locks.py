"""One deploy or rollback at a time per environment: a Redis lock with a fencing token, renewed while steps run.

The lock belongs to a run, not to a coroutine: its token is stored on the run, so a click handled by
another process (or after a restart) can renew, extend or release it. While a run waits for a
confirmation the lock is extended past the confirmation's expiry; while steps run, a renewer keeps it
alive. The fencing token is checked in PostgreSQL before every step (bot.store.runs.fence).
"""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.coord import Coordination, Lock
from bot.engine.model import Run, environment_lock

log = logging.getLogger(__name__)

# Beyond the confirmation's expiry, so the expiry timer (not Redis) decides when a waiting run ends.
WAIT_MARGIN_S = 120.0


@dataclass(frozen=True)
class Busy:
    """Who holds an environment, for the refusal message."""

    environment: str
    owner: str
    since: datetime
    run_id: int | None
    label: str


class EnvironmentLocks:
    def __init__(self, coord: Coordination, ttl_s: float) -> None:
        self.coord = coord
        self.ttl_s = ttl_s

    async def acquire(self, environment: str, owner: str, run_id: int, label: str) -> Lock | Busy:
        lock = await self.coord.acquire(environment_lock(environment), owner, self.ttl_s,
                                        {"run_id": run_id, "label": label})
        if lock is not None:
            return lock
        holder = await self.coord.holder(environment_lock(environment))
        if holder is None:  # released between the two calls: try once more
            lock = await self.coord.acquire(environment_lock(environment), owner, self.ttl_s,
                                            {"run_id": run_id, "label": label})
            if lock is not None:
                return lock
            holder = await self.coord.holder(environment_lock(environment))
        if holder is None:
            return Busy(environment, "someone", datetime.now(UTC), None, "another run")
        run = holder.info.get("run_id")
        return Busy(environment, holder.owner, datetime.fromtimestamp(holder.since, UTC),
                    int(run) if run is not None else None, str(holder.info.get("label") or "a run"))

    @staticmethod
    def of(run: Run) -> Lock | None:
        if run.lock_token is None:
            return None
        return Lock(run.lock_name, run.lock_token, run.requested_by, 0.0)

    async def renew(self, lock: Lock, ttl_s: float | None = None) -> bool:
        return await self.coord.renew(lock, ttl_s or self.ttl_s)

    async def release(self, lock: Lock | None) -> None:
        if lock is None:
            return
        try:
            await self.coord.release(lock)
        except Exception:  # an unreleased lock expires by itself; the run's state is already recorded
            log.warning("could not release the environment lock", extra={"lock": lock.name}, exc_info=True)

    async def hold_for(self, lock: Lock, seconds: float) -> bool:
        """Keep the lock through a wait (a confirmation) without a renewer running."""
        return await self.coord.renew(lock, seconds + WAIT_MARGIN_S)


class Renewer:
    """Renews a lock every third of its TTL until stopped; `lost` says whether a renewal was refused."""

    def __init__(self, locks: EnvironmentLocks, lock: Lock) -> None:
        self.locks = locks
        self.lock = lock
        self.lost = False
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.locks.ttl_s / 3)
            try:
                if not await self.locks.renew(self.lock):
                    self.lost = True
                    log.error("environment lock lost while a run was active", extra={"lock": self.lock.name})
                    return
            except Exception:  # Redis blip: try again next period, the TTL still covers us
                log.warning("environment lock renewal failed", extra={"lock": self.lock.name}, exc_info=True)

    async def __aenter__(self) -> "Renewer":
        self._task = asyncio.create_task(self._run(), name=f"renew-{self.lock.name}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
