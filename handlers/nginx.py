"""nginx.switch, nginx.live, nginx.reload: which colour takes traffic, written down where nginx reads it.

The upstream file the site includes carries a one-line state header, so the answer to "which colour is
live?" is in the same file nginx serves from — it cannot drift from a separate state store:

    # atl-bot-state: {"colour": "blue", "version": "v1.0.0", "written_at": "2026-01-01T00:00:00Z", ...}
    upstream atl_backend {
        server 127.0.0.1:3002;
    }
"""

import asyncio
import contextlib
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import aiohttp
from pydantic import Field, StringConstraints

from handlers._common import Completed, child_env, command_line, guarded, run_argv
from handlers.registry import Params, StepContext, StepResult, handler

STATE_PREFIX = "# atl-bot-state: "
Colour = Literal["blue", "green"]
IDLE: dict[str, Colour] = {"blue": "green", "green": "blue"}
Argv = Annotated[list[str], Field(min_length=1)]
# Only host:port (or [v6]:port) reaches the config file: no value can smuggle in a directive.
Server = Annotated[str, StringConstraints(pattern=r"^([A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\]):\d{1,5}$")]
UpstreamName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=100)]


class SwitchParams(Params):
    site_path: str  # the upstream file the site includes
    colour: Colour
    upstream: UpstreamName = "atl_backend"
    servers: list[Server] = Field(min_length=1)
    version: Annotated[str, StringConstraints(max_length=100)] | None = None
    test_cmd: Argv
    reload_cmd: Argv


class LiveParams(Params):
    site_path: str
    health_url: str | None = None  # /health as served through nginx; must agree with the state header


class ReloadParams(Params):
    test_cmd: Argv
    reload_cmd: Argv


def render_upstream(params: SwitchParams, written_at: datetime) -> str:
    state = {"colour": params.colour, "version": params.version, "servers": params.servers,
             "upstream": params.upstream, "written_at": written_at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    servers = "".join(f"    server {server};\n" for server in params.servers)
    return (f"{STATE_PREFIX}{json.dumps(state, sort_keys=True)}\n"
            "# Written by atl-bot (nginx.switch): change it with /deploy or /rollback, not by hand.\n"
            f"upstream {params.upstream} {{\n{servers}}}\n")


def read_state(text: str) -> dict[str, Any] | None:
    for line in text.splitlines():
        if line.startswith(STATE_PREFIX):
            try:
                state = json.loads(line.removeprefix(STATE_PREFIX))
            except ValueError:
                return None
            return state if isinstance(state, dict) and state.get("colour") in IDLE else None
    return None


def write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Temp file in the same directory, fsync, rename: nginx never reads half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class _Previous:
    """The upstream file as it was before the switch, to put back if nginx refuses the new one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = path.read_bytes() if path.exists() else None
        self.mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
        self.state = read_state(self.data.decode("utf-8", errors="replace")) if self.data is not None else None

    def restore(self) -> None:
        if self.data is None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        else:
            write_atomically(self.path, self.data, self.mode)


async def _run(argv: list[str], deadline: float) -> Completed:
    remaining = max(0.1, deadline - asyncio.get_running_loop().time())
    return await run_argv(argv, timeout_s=remaining, env=child_env())


def _describe(state: dict[str, Any] | None) -> str:
    if not state:
        return "none"
    return f"{state['colour']} {state.get('version') or ''}".strip()


@handler("nginx.switch")
@guarded
async def switch(params: SwitchParams, ctx: StepContext) -> StepResult:
    """Point the upstream at a colour: write the file atomically, nginx -t, reload; restore on failure."""
    deadline = asyncio.get_running_loop().time() + ctx.timeout_s
    path = Path(params.site_path)
    previous = _Previous(path)
    write_atomically(path, render_upstream(params, datetime.now(UTC)).encode(), previous.mode)
    try:
        test = await _run(params.test_cmd, deadline)
        if test.exit_code != 0:
            previous.restore()
            return StepResult(ok=False, summary=f"{command_line(params.test_cmd)} rejected the new upstream "
                                                f"({test.ran}); restored the previous file, nothing was reloaded",
                              output=test.output, outputs={"previous_colour": _colour(previous.state)})
        reload = await _run(params.reload_cmd, deadline)
        if reload.exit_code != 0:
            previous.restore()
            return StepResult(ok=False, summary=f"{command_line(params.reload_cmd)} failed ({reload.ran}); "
                                                "restored the previous file",
                              output=test.output + reload.output,
                              outputs={"previous_colour": _colour(previous.state)})
    except BaseException:
        previous.restore()  # cancelled or crashed mid-switch: the file must keep saying what nginx serves
        raise
    version = f" {params.version}" if params.version else ""
    return StepResult(
        ok=True,
        summary=f"nginx now sends {params.upstream} to {params.colour}{version} ({', '.join(params.servers)}); "
                f"was {_describe(previous.state)}",
        output=test.output + reload.output,
        outputs={"previous_colour": _colour(previous.state),
                 "previous_version": (previous.state or {}).get("version"),
                 "colour": params.colour, "version": params.version},
    )


def _read_or_none(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None


def _colour(state: dict[str, Any] | None) -> str | None:
    return state["colour"] if state else None


async def _served_version(url: str) -> tuple[str | None, str]:
    """The version /health reports (None if it does not say), and what was seen, for the output."""
    seen = "no answer"
    async with aiohttp.ClientSession() as session:
        for attempt in range(3):
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
                    text = await resp.text(errors="replace")
                    seen = f"{resp.status} {text[:300]}"
                    if resp.status == 200:
                        body = json.loads(text)
                        version = body.get("version") if isinstance(body, dict) else None
                        return (str(version) if version is not None else None), seen
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                seen = f"{type(exc).__name__}: {exc}"
            if attempt < 2:
                await asyncio.sleep(1)
    raise LookupError(seen)


@handler("nginx.live")
@guarded
async def live(params: LiveParams, ctx: StepContext) -> StepResult:
    """Read which colour and version nginx serves from the state header; check it against /health."""
    path = Path(params.site_path)
    text = await asyncio.to_thread(_read_or_none, path)
    if text is None:
        return StepResult(ok=False, summary=f"{path} does not exist: nginx has no atl-bot upstream file yet "
                                            "(run a first switch, e.g. /rollback to the colour that is running)")
    state = read_state(text)
    if state is None:
        return StepResult(ok=False, summary=f"{path} has no atl-bot state header ({STATE_PREFIX.strip()} …): "
                                            "it was edited by hand; switch once with nginx.switch to record it")
    colour, version = state["colour"], state.get("version")
    outputs = {"colour": colour, "version": version, "idle_colour": IDLE[colour], "servers": state.get("servers")}
    if params.health_url:
        try:
            served, seen = await _served_version(params.health_url)
        except LookupError as exc:
            return StepResult(ok=False, summary=f"nginx says {_describe(state)} is live but {params.health_url} "
                                                f"does not answer 200: {exc}", outputs=outputs)
        if version and served != version:
            return StepResult(ok=False, summary=f"nginx says {colour} {version} is live but {params.health_url} "
                                                f"reports version {served}", output=seen, outputs=outputs)
        if not version:
            outputs["version"] = served  # first switch recorded no version: what is served is the truth
    return StepResult(ok=True, summary=f"{colour} {outputs['version'] or ''} is live; {IDLE[colour]} is idle",
                      outputs=outputs)


@handler("nginx.reload")
@guarded
async def reload(params: ReloadParams, ctx: StepContext) -> StepResult:
    """nginx -t, then reload; nothing is reloaded when the test fails."""
    deadline = asyncio.get_running_loop().time() + ctx.timeout_s
    test = await _run(params.test_cmd, deadline)
    if test.exit_code != 0:
        return StepResult(ok=False, summary=f"{command_line(params.test_cmd)} failed ({test.ran}); not reloaded",
                          output=test.output)
    done = await _run(params.reload_cmd, deadline)
    return StepResult(ok=done.exit_code == 0, summary=f"{command_line(params.reload_cmd)}: {done.ran}",
                      output=test.output + done.output)
