"""Numbered migrations: applied once each, recorded, idempotent, safe when two processes migrate at once."""

import asyncio

import psycopg

from bot.store.migrate import available, latest_version, migrate


async def applied(url: str) -> list[tuple[int, str]]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("SELECT version, name FROM schema_migrations ORDER BY version")
        return [(int(v), str(n)) for v, n in await cur.fetchall()]


async def tables(url: str) -> set[str]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {str(row[0]) for row in await cur.fetchall()}


def every_migration() -> list[tuple[int, str]]:
    return [(m.version, m.name) for m in available()]


async def test_migrations_are_numbered_without_gaps() -> None:
    versions = [m.version for m in available()]
    assert versions == list(range(1, len(versions) + 1))
    assert latest_version() == versions[-1]


async def test_first_run_applies_everything_second_run_nothing(database_url: str) -> None:
    first = await migrate(database_url)
    schema = await tables(database_url)
    second = await migrate(database_url)

    assert first == [version for version, _ in every_migration()]
    assert second == []
    assert await applied(database_url) == every_migration()
    assert await tables(database_url) == schema
    # The initial schema holds what the capability issues build on.
    assert {"incidents", "timeline_events", "alerts", "runbook_runs", "run_steps", "approvals", "audit_log",
            "slack_outbox"} <= schema


async def test_two_migrations_at_once_apply_the_schema_once(database_url: str) -> None:
    results = await asyncio.gather(migrate(database_url), migrate(database_url))

    # One of them applied everything under the advisory lock; the other found nothing left to do.
    assert sorted(results, key=len) == [[], [version for version, _ in every_migration()]]
    assert await applied(database_url) == every_migration()

