"""redis.command: the runbook's Redis maintenance commands, and only those."""

import json
from datetime import datetime
from typing import Any, Literal

import redis.asyncio as aioredis

from handlers._common import guarded
from handlers.registry import Params, StepContext, StepResult, handler

Command = Literal["PING", "FLUSHALL", "LASTSAVE", "MEMORY DOCTOR", "CONFIG GET *", "INFO"]
# redis-py splits a first argument on spaces and picks its reply parser by it ("CONFIG GET" → a dict).
_ARGS: dict[str, tuple[str, ...]] = {"CONFIG GET *": ("CONFIG GET", "*")}


class CommandParams(Params):
    url: str
    command: Command


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, dict):
        return "\n".join(f"{_text(k)}: {_text(v)}" for k, v in sorted(value.items(), key=lambda kv: _text(kv[0])))
    if isinstance(value, list):
        # CONFIG GET answers a flat [name, value, name, value, …] list over RESP2.
        pairs = zip(value[::2], value[1::2], strict=False)
        return "\n".join(f"{_text(k)}: {_text(v)}" for k, v in sorted(pairs, key=lambda kv: _text(kv[0])))
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(_jsonable(k)): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    try:
        json.dumps(value)
    except TypeError:
        return str(value)
    return value


def _summary(command: str, value: Any) -> str:
    if command == "LASTSAVE":
        when = value if isinstance(value, datetime) else datetime.fromtimestamp(int(value))
        return f"last successful save: {when.isoformat(sep=' ', timespec='seconds')}"
    if command == "INFO" and isinstance(value, dict):
        return (f"redis {value.get('redis_version', '?')}, used memory {value.get('used_memory_human', '?')}, "
                f"{value.get('connected_clients', '?')} clients")
    if command == "CONFIG GET *":
        count = len(value) if isinstance(value, dict) else len(value) // 2
        return f"{count} configuration parameters"
    if command == "MEMORY DOCTOR":
        return _text(value).splitlines()[0] if _text(value) else "no report"
    return f"{command}: {_text(value)}"


@handler("redis.command")
@guarded
async def command(params: CommandParams, ctx: StepContext) -> StepResult:
    """Run one allowed Redis command (PING, FLUSHALL, LASTSAVE, MEMORY DOCTOR, CONFIG GET *, INFO)."""
    timeout = max(1.0, min(ctx.timeout_s, 60.0))
    client = aioredis.from_url(params.url, socket_connect_timeout=timeout, socket_timeout=ctx.timeout_s)
    try:
        args = _ARGS.get(params.command, (params.command,))
        value = await client.execute_command(*args)
    finally:
        await client.aclose()
    return StepResult(ok=True, summary=_summary(params.command, value), output=_text(value),
                      outputs={"result": _jsonable(value)})
