"""The only place that talks Redis: TTL locks with fencing tokens, idempotency keys."""

import json
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

# Release and renew only when the lock still carries our token; both are atomic in Redis.
_RELEASE = """
if redis.call('hget', KEYS[1], 'token') == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('hget', KEYS[1], 'token') == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_ACQUIRE = """
if redis.call('exists', KEYS[1]) == 1 then return 0 end
local token = redis.call('incr', KEYS[2])
redis.call('hset', KEYS[1], 'token', token, 'owner', ARGV[1], 'since', ARGV[2], 'info', ARGV[4])
redis.call('pexpire', KEYS[1], ARGV[3])
return token
"""


@dataclass(frozen=True)
class Lock:
    name: str
    token: int
    owner: str
    since: float


@dataclass(frozen=True)
class Holder:
    owner: str
    since: float
    info: dict[str, Any]


class Coordination:
    def __init__(self, url: str, prefix: str = "atl") -> None:
        self.redis = aioredis.Redis.from_url(url, decode_responses=True)
        self.prefix = prefix

    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    async def close(self) -> None:
        await self.redis.aclose()

    async def ping(self) -> None:
        await self.redis.ping()

    async def acquire(self, name: str, owner: str, ttl_s: float, info: dict[str, Any] | None = None) -> Lock | None:
        """Take the lock or return None; the token only ever increases (a fencing token)."""
        since = time.time()
        token = await self.redis.eval(  # type: ignore[misc]
            _ACQUIRE, 2, self._key("lock", name), self._key("fence", name),
            owner, str(since), str(int(ttl_s * 1000)), json.dumps(info or {}),
        )
        return Lock(name, int(token), owner, since) if token else None

    async def holder(self, name: str) -> Holder | None:
        data = await self.redis.hgetall(self._key("lock", name))  # type: ignore[misc]
        if not data:
            return None
        return Holder(str(data["owner"]), float(data["since"]), json.loads(data.get("info") or "{}"))

    async def renew(self, lock: Lock, ttl_s: float) -> bool:
        done = await self.redis.eval(  # type: ignore[misc]
            _RENEW, 1, self._key("lock", lock.name), str(lock.token), str(int(ttl_s * 1000))
        )
        return bool(done)

    async def release(self, lock: Lock) -> bool:
        done = await self.redis.eval(_RELEASE, 1, self._key("lock", lock.name), str(lock.token))  # type: ignore[misc]
        return bool(done)

    async def claim_once(self, key: str, ttl_s: float) -> bool:
        """True for the first caller with this idempotency key within the TTL, False for every other."""
        return bool(await self.redis.set(self._key("idem", key), "1", nx=True, px=int(ttl_s * 1000)))
