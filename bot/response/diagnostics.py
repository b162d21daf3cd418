"""The runbook's immediate actions that a bot can do by itself when a P1 opens: health checks, recent
deployments (from run history), and counts of the key error-log patterns. Each check is bounded and
reports what it could not do rather than failing the rest.
"""

import asyncio
import os
import re
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel

from bot.config import AppConfig
from bot.config.response import LogPattern
from bot.store import incidents as incident_rows
from bot.store.db import Store
from handlers.registry import REGISTRY, StepContext, load_all


class Finding(BaseModel):
    """One diagnostic: ok (True/False) or informational (None), a summary and detail lines."""

    check: str
    ok: bool | None
    summary: str
    lines: list[str] = []


async def health_checks(config: AppConfig) -> Finding:
    """GET each environment's public /health once (the runbook's health-check-all)."""
    if not config.environments:
        return Finding(check="health", ok=None, summary="No environments configured: no health URL to check")
    handler = REGISTRY.get("http.health") or load_all()["http.health"]
    timeout = config.response.diagnostics.health_timeout_seconds
    lines, failed = [], 0
    for name, env in config.environments.items():
        params = handler.params.model_validate({"url": env.health.public_url, "retries": 0, "timeout_s": timeout})
        result = await handler.fn(params, StepContext(environment=name, timeout_s=timeout))
        failed += not result.ok
        lines.append(f"{'ok' if result.ok else 'FAIL'} {name}: {result.summary}")
    summary = f"{len(lines) - failed}/{len(lines)} environments healthy"
    return Finding(check="health", ok=failed == 0, summary=summary, lines=lines)


async def recent_runs(store: Store, config: AppConfig, now: datetime) -> Finding:
    """Deployments and rollbacks of the last hours (the runbook's `git log` / `pm2 list` look back)."""
    hours = config.response.diagnostics.recent_runs_hours
    async with store.connection() as conn:
        runs = await incident_rows.runs_since(conn, now - timedelta(hours=hours))
    if not runs:
        return Finding(check="recent_runs", ok=None, summary=f"No deployments or rollbacks in the last {hours}h")
    zone = config.zone
    lines = []
    for run in runs:
        shown = " ".join(str(v) for v in run.params.values() if v not in (None, False, ""))
        when = run.created_at.astimezone(zone).strftime("%d %b %H:%M")
        lines.append(f"#{run.id} {run.runbook} {shown} in {run.environment} by <@{run.requested_by}> — "
                     f"{run.status}, {when}".replace("  ", " "))
    return Finding(check="recent_runs", ok=None, summary=f"{len(runs)} runbook run(s) in the last {hours}h",
                   lines=lines)


def tail(path: Path, lines: int, block: int = 64 * 1024) -> list[str]:
    """The last `lines` lines of a file, reading from the end (logs are large)."""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        end = handle.tell()
        data = b""
        while end > 0 and data.count(b"\n") <= lines:
            start = max(0, end - block)
            handle.seek(start)
            data = handle.read(end - start) + data
            end = start
    return data.decode("utf-8", errors="replace").splitlines()[-lines:]


def count_patterns(patterns: list[LogPattern], tail_lines: int) -> Finding:
    cache: dict[Path, list[str] | str] = {}
    lines, hits, unreadable = [], 0, 0
    for pattern in patterns:
        if pattern.file not in cache:
            try:
                cache[pattern.file] = tail(pattern.file, tail_lines)
            except OSError as exc:
                cache[pattern.file] = exc.strerror or type(exc).__name__
        seen = cache[pattern.file]
        if isinstance(seen, str):
            unreadable += 1
            lines.append(f"{pattern.name}: cannot read {pattern.file} ({seen})")
            continue
        found = sum(1 for line in seen if re.search(pattern.pattern, line))
        hits += found
        lines.append(f"{pattern.name}: {found} in the last {len(seen)} lines of {pattern.file}")
    if unreadable == len(patterns):
        return Finding(check="error_logs", ok=None, summary="Error logs are not readable from the bot", lines=lines)
    return Finding(check="error_logs", ok=hits == 0, summary=f"{hits} matching error-log line(s)", lines=lines)


def longest(config: AppConfig) -> timedelta:
    """The longest run_all takes: its checks run at once, each cut off at this."""
    return timedelta(seconds=config.response.diagnostics.health_timeout_seconds * 4)


async def run_all(store: Store, config: AppConfig, now: datetime) -> list[Finding]:
    """Every check at once, each bounded by `longest`.

    Runs in the diagnostics timer's prepare step, with no transaction open, and may run again when a firing
    is retried or taken over: it must only read (HTTP GETs, SELECTs, log files), never change anything.
    """
    settings = config.response.diagnostics

    async def guarded(check: str, work: "asyncio.Future[Finding] | asyncio.Task[Finding]") -> Finding:
        try:
            return await asyncio.wait_for(work, longest(config).total_seconds())
        except Exception as exc:  # one broken check must not hide the others
            return Finding(check=check, ok=False, summary=f"could not run: {type(exc).__name__}: {exc}")

    return list(await asyncio.gather(
        guarded("health", asyncio.ensure_future(health_checks(config))),
        guarded("recent_runs", asyncio.ensure_future(recent_runs(store, config, now))),
        guarded("error_logs", asyncio.ensure_future(
            asyncio.to_thread(count_patterns, settings.log_patterns, settings.log_tail_lines))),
    ))
