"""pm2.stop, pm2.start, pm2.save, pm2.deploy, pm2.list: the pm2 CLI, argv only.

PM2_HOME (which pm2 daemon to talk to) comes from this process's environment, as for an operator's shell.
"""

import asyncio
import json
import os
import re
from dataclasses import replace
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from handlers._common import Completed, child_env, guarded, run_argv
from handlers.registry import Params, StepContext, StepResult, handler

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Never starts with "-": a name or env reaches pm2 as a value, not an option.
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.@-]*$", max_length=100)]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]*$", max_length=50)]


class StopParams(Params):
    name: Name
    pm2: str = "pm2"


class StartParams(Params):
    ecosystem: str
    env: EnvName = "production"
    name: Name | None = None  # only this app of the ecosystem (--only)
    settle_s: float = Field(default=2.0, ge=0)  # it must still be online (and not restarted) after this
    pm2: str = "pm2"


class SaveParams(Params):
    pm2: str = "pm2"


class DeployParams(Params):
    ecosystem: str
    env: EnvName = "production"
    pm2: str = "pm2"


class ListParams(Params):
    pm2: str = "pm2"


async def _pm2(pm2: str, *args: str, timeout_s: float, cwd: str | None = None) -> Completed:
    # No colours in a Slack thread; pm2 does not always honour FORCE_COLOR, so strip what is left.
    env = child_env({"FORCE_COLOR": "0", "NO_COLOR": "1"})
    done = await run_argv([pm2, *args], timeout_s=timeout_s, cwd=cwd, env=env)
    return replace(done, output=ANSI.sub("", done.output))


async def processes(pm2: str, timeout_s: float) -> list[dict[str, Any]]:
    """`pm2 jlist` reduced to what an operator reads: name, status, pid, restarts, version."""
    done = await _pm2(pm2, "jlist", timeout_s=timeout_s)
    if done.exit_code != 0:
        raise RuntimeError(f"pm2 jlist failed ({done.ran}): {done.output[-500:]}")
    # pm2 may print a banner (e.g. "daemon spawned") before the JSON array.
    start = done.output.find("[")
    raw = json.loads(done.output[start:]) if start >= 0 else []
    return [{"name": p.get("name"), "status": (p.get("pm2_env") or {}).get("status"), "pid": p.get("pid"),
             "restarts": (p.get("pm2_env") or {}).get("restart_time"),
             "version": (p.get("pm2_env") or {}).get("version")} for p in raw]


def _table(procs: list[dict[str, Any]]) -> str:
    if not procs:
        return "(no processes)"
    return "\n".join(f"{p['name']:<30} {p['status'] or '?':<10} pid {p['pid'] or '-':<8} restarts {p['restarts']}"
                     for p in procs)


@handler("pm2.stop")
@guarded
async def stop(params: StopParams, ctx: StepContext) -> StepResult:
    """pm2 stop NAME."""
    done = await _pm2(params.pm2, "stop", params.name, timeout_s=ctx.timeout_s)
    ok = done.exit_code == 0
    return StepResult(ok=ok, summary=f"pm2 stop {params.name}: {'stopped' if ok else 'failed (' + done.ran + ')'}",
                      output=done.output)


@handler("pm2.start")
@guarded
async def start(params: StartParams, ctx: StepContext) -> StepResult:
    """pm2 start ECOSYSTEM --env ENV [--only NAME], then check the apps are online."""
    args = ["start", params.ecosystem, "--env", params.env, "--update-env"]
    if params.name:
        args += ["--only", params.name]
    # Relative scripts in an ecosystem file resolve against the directory it lives in, as `cd app && pm2 start`.
    done = await _pm2(params.pm2, *args, timeout_s=ctx.timeout_s, cwd=os.path.dirname(params.ecosystem) or None)
    if done.exit_code != 0:
        return StepResult(ok=False, summary=f"pm2 start {params.ecosystem} --env {params.env} failed ({done.ran})",
                          output=done.output)
    before = await processes(params.pm2, ctx.timeout_s)
    # An app that crashes at boot is "online" for a moment: look again after it has had time to fall over.
    await asyncio.sleep(params.settle_s)
    procs = await processes(params.pm2, ctx.timeout_s)
    restarts = {p["name"]: p["restarts"] for p in before}
    mine = [p for p in procs if params.name is None or p["name"] == params.name]
    down = [p for p in mine if p["status"] != "online" or p["restarts"] != restarts.get(p["name"], p["restarts"])]
    if not mine or down:
        what = ", ".join(f"{p['name']} {p['status']} (restarts {p['restarts']})" for p in down) or (
            f"{params.name} not in pm2's list")
        return StepResult(ok=False, summary=f"pm2 start ran but not online: {what}",
                          output=done.output + "\n" + _table(procs), outputs={"processes": procs})
    names = ", ".join(p["name"] for p in mine)
    return StepResult(ok=True, summary=f"online with --env {params.env}: {names}", output=_table(procs),
                      outputs={"processes": procs})


@handler("pm2.save")
@guarded
async def save(params: SaveParams, ctx: StepContext) -> StepResult:
    """pm2 save: the process list survives a reboot."""
    done = await _pm2(params.pm2, "save", "--force", timeout_s=ctx.timeout_s)
    return StepResult(ok=done.exit_code == 0, summary=f"pm2 save: {done.ran}", output=done.output)


@handler("pm2.deploy")
@guarded
async def deploy(params: DeployParams, ctx: StepContext) -> StepResult:
    """pm2 deploy ECOSYSTEM ENV (the ecosystem's deploy section)."""
    done = await _pm2(params.pm2, "deploy", params.ecosystem, params.env, timeout_s=ctx.timeout_s,
                      cwd=os.path.dirname(params.ecosystem) or None)
    ok = done.exit_code == 0
    return StepResult(ok=ok, summary=f"pm2 deploy {params.ecosystem} {params.env}: {'done' if ok else done.ran}",
                      output=done.output)


@handler("pm2.list")
@guarded
async def list_(params: ListParams, ctx: StepContext) -> StepResult:
    """pm2 list, as data."""
    procs = await processes(params.pm2, ctx.timeout_s)
    online = sum(1 for p in procs if p["status"] == "online")
    return StepResult(ok=True, summary=f"{online}/{len(procs)} pm2 process(es) online", output=_table(procs),
                      outputs={"processes": procs})
