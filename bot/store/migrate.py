"""Numbered SQL migrations, applied once each under a PostgreSQL advisory lock."""

import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg.rows import DictRow

log = logging.getLogger(__name__)

# Any constant works; it only has to be the same in every atl-bot process.
LOCK_KEY = 0x61746C626F74  # "atlbot"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    found = []
    for entry in resources.files("bot.store.migrations").iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda mig: mig.version)
    return found


def latest_version() -> int:
    migrations = available()
    return migrations[-1].version if migrations else 0


async def migrate(url: str) -> list[int]:
    """Apply what is missing; returns the versions applied by this call."""
    applied_now: list[int] = []
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur = await conn.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in await cur.fetchall()}
            for mig in available():
                if mig.version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(mig.sql.encode())
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                        (mig.version, mig.name),
                    )
                log.info("migration applied", extra={"version": mig.version, "migration": mig.name})
                applied_now.append(mig.version)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return applied_now


async def current_version(conn: psycopg.AsyncConnection[DictRow]) -> int:
    cur = await conn.execute(
        "SELECT CASE WHEN to_regclass('schema_migrations') IS NULL THEN 0"
        " ELSE (SELECT coalesce(max(version), 0) FROM schema_migrations) END AS v"
    )
    row = await cur.fetchone()
    return int(row["v"]) if row else 0
