"""Throwaway PostgreSQL 15 clusters: initdb -A trust, a free port, a unix socket in a temp dir.

As root, PostgreSQL refuses to run, so the cluster belongs to the `postgres` OS user. One initdb per
session is copied for every further cluster (initdb is the slow part).
"""

import atexit
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests.harness.net import free_port

PG_BIN = Path(os.environ.get("ATL_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
OS_USER = "postgres"

# Durability is not what these tests are about; speed is.
_FAST = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    " -c shared_buffers=32MB -c listen_addresses=127.0.0.1 -c wal_level=minimal -c max_wal_senders=0"
)
_template_dir: Path | None = None
# Clusters live in memory when /dev/shm exists: CREATE DATABASE per test is then a copy in RAM.
ROOT = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def _as_db_user() -> dict[str, object]:
    if os.geteuid() != 0:
        return {}
    pw = pwd.getpwnam(OS_USER)
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def _chown_tree(path: Path) -> None:
    if os.geteuid() != 0:
        return
    pw = pwd.getpwnam(OS_USER)
    for root, dirs, files in os.walk(path):
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), pw.pw_uid, pw.pw_gid, follow_symlinks=False)


def _run(*args: str | Path) -> None:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False,
                          cwd="/", **_as_db_user())  # type: ignore[call-overload]
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


def _initdb_template() -> Path:
    global _template_dir
    if _template_dir is None or not _template_dir.exists():
        base = Path(tempfile.mkdtemp(prefix="atl-pg-template-", dir=ROOT))
        base.chmod(0o755)
        _chown_tree(base)
        data = base / "data"
        _run(PG_BIN / "initdb", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
             "--no-sync", "-D", data)
        _template_dir = data
        atexit.register(remove_template)
    return _template_dir


@dataclass
class PgServer:
    """One running cluster. `url(db)` for clients; `stop()`/`start()` to take it away and back."""

    base: Path
    port: int = field(default_factory=free_port)
    _names: itertools.count = field(default_factory=lambda: itertools.count(1))  # type: ignore[type-arg]

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base / "sock"

    @classmethod
    def create(cls) -> "PgServer":
        base = Path(tempfile.mkdtemp(prefix="atl-pg-", dir=ROOT))
        base.chmod(0o755)
        shutil.copytree(_initdb_template(), base / "data", symlinks=True)
        (base / "data").chmod(0o700)
        (base / "sock").mkdir()
        _chown_tree(base)
        server = cls(base)
        server.start()
        return server

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        _run(PG_BIN / "pg_ctl", "-D", self.data_dir, "-l", self.base / "server.log", "-w", "-t", "30",
             "-o", f"-p {self.port} -k {self.socket_dir} {_FAST}", "start")

    def stop(self, mode: str = "fast") -> None:
        _run(PG_BIN / "pg_ctl", "-D", self.data_dir, "-m", mode, "-w", "-t", "30", "stop")

    def running(self) -> bool:
        return (self.data_dir / "postmaster.pid").exists()

    def destroy(self) -> None:
        if self.running():
            try:
                self.stop("immediate")
            except RuntimeError:
                pass
        shutil.rmtree(self.base, ignore_errors=True)

    def new_name(self, prefix: str = "t") -> str:
        return f"{prefix}_{os.getpid()}_{next(self._names)}"

    async def create_database(self, name: str | None = None, template: str = "template0") -> str:
        """A fresh database; returns its URL."""
        name = name or self.new_name()
        async with await psycopg.AsyncConnection.connect(self.url(), autocommit=True) as conn:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    async def drop_database(self, name: str) -> None:
        async with await psycopg.AsyncConnection.connect(self.url(), autocommit=True) as conn:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?", 1)[0]


def remove_template() -> None:
    global _template_dir
    if _template_dir is not None:
        shutil.rmtree(_template_dir.parent, ignore_errors=True)
        _template_dir = None
