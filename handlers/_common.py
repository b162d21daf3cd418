"""What every handler does the same way: time out, never leak a secret, keep output short, run an argv.

`@guarded` sits under `@handler`: it bounds the step by ctx.timeout_s, turns an exception into a failed
step (an incident is no time for a traceback), and redacts and truncates whatever the step returns.
"""

import asyncio
import contextlib
import functools
import os
import re
import shlex
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel

from handlers.registry import Params, StepContext, StepResult

# A thread reply or an uploaded file, not a log archive; the tail is where failures are.
MAX_OUTPUT_CHARS = 20_000
MAX_SUMMARY_CHARS = 300
# Past ctx.timeout_s a step may take this long to kill what it started and say so with its output.
CLEANUP_GRACE_S = 3.0

P = TypeVar("P", bound=Params)
StepFn = Callable[[P, StepContext], Awaitable[StepResult]]


def truncate(text: str, limit: int = MAX_OUTPUT_CHARS) -> str:
    """Keep the last `limit` characters and say how many earlier ones were cut."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    return f"[… {cut} earlier characters cut …]\n{text[-limit:]}"


def one_line(text: str, limit: int = MAX_SUMMARY_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_CONNINFO_PASSWORD = re.compile(r"\bpassword\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S+))")


def url_passwords(text: str) -> list[str]:
    """Passwords inside URLs (postgresql://u:pw@h/db, redis://:pw@h) or `password=` conninfo in a string."""
    found: list[str] = []
    for match in _URL.finditer(text):
        try:
            password = urlsplit(match.group(0)).password
        except ValueError:
            continue
        if password:
            found += {password, unquote(password)}  # as written in the URL, and as the server sees it
    found += [quoted or bare for quoted, bare in _CONNINFO_PASSWORD.findall(text) if quoted or bare]
    return found


def secrets_in(value: Any) -> list[str]:
    """Passwords embedded in any string of a params model, so a DSN's password is redacted unasked."""
    found: list[str] = []
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, str):
        found += url_passwords(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            found += secrets_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            found += secrets_in(item)
    return found


def redact_value(ctx: StepContext, value: Any) -> Any:
    if isinstance(value, str):
        return ctx.redact(value)
    if isinstance(value, Mapping):
        return {key: redact_value(ctx, item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(ctx, item) for item in value]
    return value


def finish(ctx: StepContext, result: StepResult) -> StepResult:
    """Redact then truncate: truncating first could leave half a secret behind."""
    return StepResult(
        ok=result.ok,
        summary=one_line(ctx.redact(result.summary)),
        output=truncate(ctx.redact(result.output)),
        outputs=redact_value(ctx, result.outputs),
    )


def guarded(fn: StepFn[P]) -> StepFn[P]:
    @functools.wraps(fn)
    async def step(params: P, ctx: StepContext) -> StepResult:
        ctx = replace(ctx, secrets=[*ctx.secrets, *secrets_in(params)])
        try:
            result = await asyncio.wait_for(fn(params, ctx), ctx.timeout_s + CLEANUP_GRACE_S)
        except TimeoutError:
            result = StepResult(ok=False, summary=f"timed out after {ctx.timeout_s:g}s")
        except Exception as exc:  # a broken system is a failed step, never a crashed run
            result = StepResult(ok=False, summary=f"{type(exc).__name__}: {exc}", output=str(exc))
        return finish(ctx, result)

    return step


@dataclass(frozen=True)
class Completed:
    """How an argv ended: exit_code None when it was killed for running past its timeout."""

    exit_code: int | None
    output: str
    timed_out: bool = False

    @property
    def ran(self) -> str:
        return "timed out" if self.timed_out else f"exit {self.exit_code}"


class _Tail:
    """The last `limit` bytes of a stream and how many came before them."""

    def __init__(self, limit: int) -> None:
        self.limit, self.total, self.data = limit, 0, bytearray()

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self.data += chunk
        if len(self.data) > 2 * self.limit:
            del self.data[: len(self.data) - self.limit]

    def text(self) -> str:
        kept = bytes(self.data[-self.limit :])
        text = kept.decode("utf-8", errors="replace")
        cut = self.total - len(kept)
        return f"[… {cut} earlier bytes cut …]\n{text}" if cut else text


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


async def run_argv(
    argv: Sequence[str],
    *,
    timeout_s: float,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Completed:
    """Run an argv (never a shell), stdout and stderr interleaved, killed with its children on timeout."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env=dict(env) if env is not None else None,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a timeout kills what it spawned too
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        return Completed(exit_code=127, output=f"cannot run {argv[0]!r}: {exc}")
    tail = _Tail(MAX_OUTPUT_CHARS * 2)
    assert proc.stdout is not None
    stdout = proc.stdout

    async def pump() -> None:
        while chunk := await stdout.read(65536):
            tail.add(chunk)

    reader = asyncio.create_task(pump())
    timed_out = False
    try:
        await asyncio.wait_for(proc.wait(), timeout_s)
    except TimeoutError:
        timed_out = True
        _kill_group(proc)
        await proc.wait()
    except BaseException:
        _kill_group(proc)  # cancelled (run aborted): take the command down with it
        reader.cancel()
        raise
    # A daemon it started (pm2, nginx) may hold the pipe open: drain briefly, then stop listening.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(reader, 2.0)
    return Completed(exit_code=None if timed_out else proc.returncode, output=tail.text(), timed_out=timed_out)


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment (PATH, DOCKER_HOST, PM2_HOME …) plus a step's own variables."""
    env = dict(os.environ)
    env.update(extra or {})
    return env


def command_line(argv: Sequence[str]) -> str:
    """An argv as an operator would type it, for summaries."""
    return shlex.join(argv)
