"""Coordination in Redis: a TTL lock with a fencing token, and idempotency keys."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.coord import Coordination


@pytest.fixture
async def coord(redis_url: str) -> AsyncIterator[Coordination]:
    c = Coordination(redis_url)
    yield c
    await c.close()


async def test_second_acquire_is_refused_and_sees_the_holder(coord: Coordination) -> None:
    lock = await coord.acquire("deploy:production", "U0DEPLOYER", ttl_s=30, info={"version": "v1.0.0"})
    assert lock is not None

    again = await coord.acquire("deploy:production", "U0ADMIN000", ttl_s=30)
    holder = await coord.holder("deploy:production")

    assert again is None
    assert holder is not None
    assert holder.owner == "U0DEPLOYER" and holder.info == {"version": "v1.0.0"}
    assert holder.since == pytest.approx(lock.since)


async def test_locks_with_different_names_do_not_conflict(coord: Coordination) -> None:
    production = await coord.acquire("deploy:production", "a", ttl_s=30)
    staging = await coord.acquire("deploy:staging", "b", ttl_s=30)

    assert production is not None and staging is not None


async def test_release_frees_the_lock_and_the_fencing_token_grows(coord: Coordination) -> None:
    first = await coord.acquire("deploy:production", "a", ttl_s=30)
    assert first is not None
    assert await coord.release(first) is True
    assert await coord.holder("deploy:production") is None

    second = await coord.acquire("deploy:production", "b", ttl_s=30)

    assert second is not None and second.token > first.token
    # The old holder's token no longer matches: it can neither release nor renew the new holder's lock.
    assert await coord.release(first) is False
    assert await coord.renew(first, ttl_s=30) is False
    holder = await coord.holder("deploy:production")
    assert holder is not None and holder.owner == "b"


async def test_renew_keeps_the_lock_past_its_first_ttl(coord: Coordination) -> None:
    lock = await coord.acquire("maint:vacuum", "a", ttl_s=0.3)
    assert lock is not None

    assert await coord.renew(lock, ttl_s=30) is True
    await asyncio.sleep(0.5)

    assert await coord.acquire("maint:vacuum", "b", ttl_s=30) is None
    assert await coord.release(lock) is True


async def test_expired_lock_can_be_taken_with_a_higher_token(coord: Coordination) -> None:
    stale = await coord.acquire("maint:vacuum", "a", ttl_s=0.1)
    assert stale is not None
    await asyncio.sleep(0.3)

    fresh = await coord.acquire("maint:vacuum", "b", ttl_s=30)

    assert fresh is not None and fresh.token > stale.token
    assert await coord.renew(stale, ttl_s=30) is False


async def test_concurrent_acquires_have_exactly_one_winner(coord: Coordination) -> None:
    results = await asyncio.gather(*(coord.acquire("deploy:production", f"owner{i}", ttl_s=30) for i in range(10)))

    winners = [lock for lock in results if lock is not None]
    assert len(winners) == 1


async def test_claim_once_is_true_only_for_the_first_claim(coord: Coordination) -> None:
    results = await asyncio.gather(*(coord.claim_once("alert:fp123", ttl_s=30) for _ in range(5)))

    assert sorted(results) == [False, False, False, False, True]
    assert await coord.claim_once("alert:other", ttl_s=30) is True


async def test_claim_once_can_be_claimed_again_after_its_ttl(coord: Coordination) -> None:
    assert await coord.claim_once("button:confirm:1", ttl_s=0.1) is True
    await asyncio.sleep(0.3)

    assert await coord.claim_once("button:confirm:1", ttl_s=30) is True
