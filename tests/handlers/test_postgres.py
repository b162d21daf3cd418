"""postgres.exec, postgres.restore, postgres.backup_verify against a real PostgreSQL 15."""

import subprocess
from pathlib import Path

import psycopg
import pytest
from pydantic import ValidationError

from handlers.postgres import (
    BackupVerifyParams,
    ExecParams,
    RestoreParams,
    backup_verify,
    exec_,
    restore,
    split_password,
)
from handlers.registry import StepContext
from tests.harness.postgres import PG_BIN, database_name

PG_RESTORE = str(PG_BIN / "pg_restore")


async def _orders(url: str, rows: int) -> None:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await conn.execute("CREATE TABLE orders (id serial PRIMARY KEY, total_vnd bigint NOT NULL)")
        await conn.execute("CREATE INDEX orders_total ON orders (total_vnd)")
        await conn.execute("INSERT INTO orders (total_vnd) SELECT g * 1000 FROM generate_series(1, %s) g", (rows,))


async def _count(url: str) -> int | None:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        exists = await (await conn.execute("SELECT to_regclass('orders') IS NOT NULL")).fetchone()
        if not exists or not exists[0]:
            return None
        row = await (await conn.execute("SELECT count(*) FROM orders")).fetchone()
        return int(row[0]) if row else None


def _dump(url: str, path: Path) -> None:
    subprocess.run([str(PG_BIN / "pg_dump"), "--format=custom", f"--file={path}", url], check=True)


async def test_vacuum_analyze_and_reindex(database_url: str) -> None:
    await _orders(database_url, 100)
    vacuum = await exec_(ExecParams(dsn=database_url, statement="VACUUM ANALYZE"), StepContext())
    assert vacuum.ok, vacuum.summary
    assert vacuum.summary == "VACUUM ANALYZE: VACUUM"
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        row = await (await conn.execute(
            "SELECT last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL FROM pg_stat_user_tables "
            "WHERE relname = 'orders'")).fetchone()
        assert row == (True,)

    name = database_name(database_url)
    reindex = await exec_(ExecParams(dsn=database_url, statement=f"REINDEX DATABASE {name};"), StepContext())
    assert reindex.ok, reindex.summary

    elsewhere = await exec_(ExecParams(dsn=database_url, statement="REINDEX DATABASE postgres"), StepContext())
    assert not elsewhere.ok  # PostgreSQL only reindexes the database it is connected to
    assert "currently open database" in elsewhere.summary


async def test_a_read_only_check_returns_rows(database_url: str) -> None:
    await _orders(database_url, 3)
    result = await exec_(ExecParams(dsn=database_url, statement="SELECT id, total_vnd FROM orders ORDER BY id"),
                         StepContext())
    assert result.ok
    assert result.outputs == {"columns": ["id", "total_vnd"], "rows": [[1, 1000], [2, 2000], [3, 3000]]}
    assert result.output.splitlines()[0].split() == ["id", "|", "total_vnd"]
    assert "3 row(s)" in result.summary


async def test_a_check_that_tries_to_write_fails_and_writes_nothing(database_url: str) -> None:
    await _orders(database_url, 3)
    sneaky = "WITH gone AS (DELETE FROM orders RETURNING id) SELECT count(*) FROM gone"
    result = await exec_(ExecParams(dsn=database_url, statement=sneaky), StepContext())
    assert not result.ok
    assert "read-only transaction" in result.summary
    assert await _count(database_url) == 3


@pytest.mark.parametrize("statement", [
    "DROP TABLE orders",
    "SELECT 1; DROP TABLE orders",
    "DELETE FROM orders",
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
    "VACUUM FULL",
    "REINDEX DATABASE x; DROP DATABASE x",
])
def test_statements_outside_the_runbook_are_refused(statement: str) -> None:
    with pytest.raises(ValidationError):
        ExecParams(dsn="postgresql:///x", statement=statement)


async def test_restore_brings_the_dump_back(database_url: str, tmp_path: Path) -> None:
    await _orders(database_url, 25)
    dump = tmp_path / "backup_v0.9.0.dump"
    _dump(database_url, dump)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await conn.execute("DELETE FROM orders WHERE id > 5")
    assert await _count(database_url) == 5

    result = await restore(RestoreParams(dsn=database_url, dump_path=str(dump), pg_restore=PG_RESTORE),
                           StepContext(timeout_s=120))
    assert result.ok, result.output
    assert await _count(database_url) == 25


async def test_a_failing_restore_changes_nothing(database_url: str, tmp_path: Path) -> None:
    await _orders(database_url, 4)
    dump = tmp_path / "latest.dump"
    _dump(database_url, dump)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        # A view on the table makes DROP TABLE (from --clean) fail: the restore must roll back whole.
        await conn.execute("CREATE VIEW big_orders AS SELECT * FROM orders WHERE total_vnd > 2000")
        await conn.execute("DELETE FROM orders WHERE id = 1")
    result = await restore(RestoreParams(dsn=database_url, dump_path=str(dump), pg_restore=PG_RESTORE),
                           StepContext(timeout_s=120))
    assert not result.ok
    assert "nothing was changed" in result.summary
    assert await _count(database_url) == 3


async def test_restore_of_a_missing_dump_fails(database_url: str, tmp_path: Path) -> None:
    result = await restore(RestoreParams(dsn=database_url, dump_path=str(tmp_path / "nope.dump")), StepContext())
    assert not result.ok and "no dump at" in result.summary


async def test_backup_verify_lists_a_good_dump_and_rejects_garbage(database_url: str, tmp_path: Path) -> None:
    await _orders(database_url, 10)
    dump = tmp_path / "latest.dump"
    _dump(database_url, dump)
    good = await backup_verify(BackupVerifyParams(dump_path=str(dump), pg_restore=PG_RESTORE), StepContext())
    assert good.ok, good.output
    assert good.outputs["tables"] == 1
    assert "TABLE DATA public orders" in good.output

    garbage = tmp_path / "garbage.dump"
    garbage.write_bytes(b"this is not a dump\n" * 10)
    bad = await backup_verify(BackupVerifyParams(dump_path=str(garbage), pg_restore=PG_RESTORE), StepContext())
    assert not bad.ok
    assert "not a usable dump" in bad.summary


def test_the_password_goes_to_the_environment_not_argv() -> None:
    dsn, env = split_password("postgresql://deploy:s3cr%40t@db.internal:5432/audio_tai_loc_prod")
    assert "s3cr" not in dsn
    assert env == {"PGPASSWORD": "s3cr@t"}
    assert "dbname=audio_tai_loc_prod" in dsn and "host=db.internal" in dsn


async def test_connection_errors_never_show_the_password(database_url: str) -> None:
    dsn = database_url.replace("postgresql://postgres@", "postgresql://postgres:topsecret@").replace(
        database_name(database_url), "no_such_database")
    result = await exec_(ExecParams(dsn=dsn, statement="SELECT 1"), StepContext())
    assert not result.ok
    assert "no_such_database" in result.summary
    assert "topsecret" not in result.summary + result.output
