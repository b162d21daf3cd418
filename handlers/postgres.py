"""postgres.exec, postgres.restore, postgres.backup_verify: the runbook's database maintenance.

postgres.exec runs only the statements the runbook needs — VACUUM ANALYZE, REINDEX DATABASE <name>, and
read-only checks (SELECT/WITH/SHOW, inside a READ ONLY transaction) — so a runbook cannot carry a DROP.
"""

import asyncio
import re
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import field_validator

from handlers._common import child_env, guarded, run_argv
from handlers.registry import Params, StepContext, StepResult, handler

_IDENT = r"[A-Za-z_][A-Za-z0-9_$]*"
MAINTENANCE = [
    re.compile(rf"^VACUUM ANALYZE(\s+{_IDENT}(\.{_IDENT})?)?$", re.IGNORECASE),
    re.compile(rf"^REINDEX DATABASE\s+{_IDENT}$", re.IGNORECASE),
]
READ_ONLY = re.compile(r"^(SELECT|WITH|SHOW)\b", re.IGNORECASE)
# Functions that act without writing a row, so READ ONLY does not stop them.
SIDE_EFFECTS = re.compile(
    r"\b(pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_rotate_logfile|pg_promote|pg_switch_wal"
    r"|pg_create_restore_point|pg_read_file|pg_read_binary_file|pg_ls_dir|pg_stat_file|lo_import|lo_export"
    r"|dblink\w*|set_config|pg_sleep\w*|pg_advisory\w*|pg_notify|txid_current|pg_current_xact_id)\s*\(",
    re.IGNORECASE,
)
MAX_ROWS = 200


def _normalise(statement: str) -> str:
    return " ".join(statement.strip().rstrip(";").split())


class ExecParams(Params):
    dsn: str
    statement: str

    @field_validator("statement")
    @classmethod
    def _allowed(cls, value: str) -> str:
        statement = _normalise(value)
        if ";" in statement:
            raise ValueError("one statement only (no ';' inside)")
        if any(p.match(statement) for p in MAINTENANCE):
            return statement
        if READ_ONLY.match(statement) and not SIDE_EFFECTS.search(statement):
            return statement
        raise ValueError("not an allowed statement: VACUUM ANALYZE [table], REINDEX DATABASE <name>, "
                         "or a read-only SELECT/WITH/SHOW check")


class RestoreParams(Params):
    dsn: str
    dump_path: str
    pg_restore: str = "pg_restore"
    clean: bool = True  # drop each object before recreating it (--clean --if-exists)
    single_transaction: bool = True  # all or nothing: a failed restore leaves the database as it was


class BackupVerifyParams(Params):
    dump_path: str
    pg_restore: str = "pg_restore"


def split_password(dsn: str) -> tuple[str, dict[str, str]]:
    """A DSN without its password, and PGPASSWORD for the child: argv is visible in `ps`, env is not."""
    parts = conninfo_to_dict(dsn)
    password = parts.pop("password", None)
    env = {"PGPASSWORD": str(password)} if password else {}
    return make_conninfo(**{k: str(v) for k, v in parts.items() if v is not None}), env


def _table(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    cells = [columns, *[["" if v is None else str(v) for v in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


@handler("postgres.exec")
@guarded
async def exec_(params: ExecParams, ctx: StepContext) -> StepResult:
    """Run VACUUM ANALYZE, REINDEX DATABASE, or a read-only check."""
    statement = params.statement
    read_only = bool(READ_ONLY.match(statement))
    timeout_ms = int(ctx.timeout_s * 1000)
    # VACUUM and REINDEX DATABASE refuse to run inside a transaction block, hence autocommit.
    async with await psycopg.AsyncConnection.connect(params.dsn, autocommit=not read_only,
                                                     connect_timeout=max(2, int(min(ctx.timeout_s, 30)))) as conn:
        if read_only:
            await conn.set_read_only(True)  # a SELECT calling a function that writes fails, not writes
        async with conn.cursor() as cur:
            await cur.execute(f"SET statement_timeout = {timeout_ms}")
            # The params model already refused ';', so this is exactly one allowed statement.
            await cur.execute(statement.encode())
            if cur.description is None:
                return StepResult(ok=True, summary=f"{statement}: {cur.statusmessage or 'done'}")
            columns = [d.name for d in cur.description]
            rows = await cur.fetchmany(MAX_ROWS + 1)
        if read_only:
            await conn.rollback()
    more = len(rows) > MAX_ROWS
    rows = rows[:MAX_ROWS]
    output = _table(columns, rows) + (f"\n(more than {MAX_ROWS} rows; first {MAX_ROWS} shown)" if more else "")
    return StepResult(ok=True, summary=f"{statement[:80]}: {len(rows)}{'+' if more else ''} row(s)", output=output,
                      outputs={"columns": columns, "rows": [list(map(_jsonable, r)) for r in rows]})


def _dump_size(path: str) -> int | None:
    p = Path(path)
    return p.stat().st_size if p.is_file() else None


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


@handler("postgres.restore")
@guarded
async def restore(params: RestoreParams, ctx: StepContext) -> StepResult:
    """pg_restore a custom-format dump into the database."""
    size = await asyncio.to_thread(_dump_size, params.dump_path)
    if size is None:
        return StepResult(ok=False, summary=f"no dump at {params.dump_path}")
    dsn, pg_env = split_password(params.dsn)
    argv = [params.pg_restore, "--no-owner", "--exit-on-error", f"--dbname={dsn}"]
    argv += ["--clean", "--if-exists"] if params.clean else []
    argv += ["--single-transaction"] if params.single_transaction else []
    done = await run_argv([*argv, params.dump_path], timeout_s=ctx.timeout_s, env=child_env(pg_env))
    database = conninfo_to_dict(params.dsn).get("dbname", "?")
    if done.exit_code != 0:
        note = " (single transaction: nothing was changed)" if params.single_transaction else ""
        return StepResult(ok=False, summary=f"pg_restore of {params.dump_path} into {database} failed "
                                            f"({done.ran}){note}", output=done.output)
    return StepResult(ok=True, summary=f"restored {params.dump_path} ({size / 1e6:.1f} MB) into {database}",
                      output=done.output)


@handler("postgres.backup_verify")
@guarded
async def backup_verify(params: BackupVerifyParams, ctx: StepContext) -> StepResult:
    """pg_restore --list a dump: it must be readable and hold at least one entry."""
    if await asyncio.to_thread(_dump_size, params.dump_path) is None:
        return StepResult(ok=False, summary=f"no dump at {params.dump_path}")
    done = await run_argv([params.pg_restore, "--list", params.dump_path], timeout_s=ctx.timeout_s,
                          env=child_env())
    entries = [line for line in done.output.splitlines() if line.strip() and not line.startswith(";")]
    if done.exit_code != 0 or not entries:
        why = done.ran if done.exit_code != 0 else "no entries"
        return StepResult(ok=False, summary=f"{params.dump_path} is not a usable dump ({why})", output=done.output)
    tables = sum(1 for line in entries if " TABLE DATA " in line)
    return StepResult(ok=True, summary=f"{params.dump_path}: {len(entries)} entries, {tables} table(s) with data",
                      output=done.output, outputs={"entries": len(entries), "tables": tables})
