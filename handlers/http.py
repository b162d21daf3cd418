"""http.health and http.smoke: GET an endpoint, expect a status and a JSON subset, retry while it warms up."""

import asyncio
import json
from typing import Any

import aiohttp
from pydantic import BaseModel, ConfigDict, Field

from handlers._common import guarded
from handlers.registry import Params, StepContext, StepResult, handler


class HealthParams(Params):
    url: str
    expect_status: int = 200
    expect_json: dict[str, Any] = Field(default_factory=dict)  # a subset the body must contain
    retries: int = Field(default=5, ge=0)  # attempts after the first
    interval_s: float = Field(default=2.0, ge=0)
    timeout_s: float = Field(default=5.0, gt=0)  # per request


class SmokeCheck(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    expect_status: int = 200
    expect_json: dict[str, Any] = Field(default_factory=dict)


class SmokeParams(Params):
    base_url: str
    checks: list[SmokeCheck] = Field(min_length=1)
    timeout_s: float = Field(default=5.0, gt=0)  # per request


def json_subset_mismatch(expected: Any, actual: Any, where: str = "") -> str | None:
    """Where `actual` fails to contain `expected` (dicts: a subset, recursively; anything else: equal)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where or 'body'} is not an object"
        for key, value in expected.items():
            if key not in actual:
                return f"{where}{key} is missing"
            problem = json_subset_mismatch(value, actual[key], f"{where}{key}.")
            if problem:
                return problem
        return None
    if expected != actual:
        return f"{where.rstrip('.') or 'body'} is {actual!r}, expected {expected!r}"
    return None


async def _get(session: aiohttp.ClientSession, url: str, timeout_s: float) -> tuple[int, Any]:
    # Redirects are followed, as curl -L and browsers do; the body is JSON when it parses, else text.
    async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
        text = await resp.text(errors="replace")
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text


def _judge(status: int, body: Any, expect_status: int, expect_json: dict[str, Any]) -> str | None:
    if status != expect_status:
        return f"status {status}, expected {expect_status}"
    return json_subset_mismatch(expect_json, body) if expect_json else None


def _show(body: Any) -> str:
    return json.dumps(body, sort_keys=True) if not isinstance(body, str) else body


@handler("http.health")
@guarded
async def health(params: HealthParams, ctx: StepContext) -> StepResult:
    """GET a health endpoint until it answers as expected or the retries run out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.timeout_s  # the step's timeout ends the retries, with their log kept
    log: list[str] = []
    status, body = 0, None
    problem: str | None = "no attempt"
    attempt = 0
    async with aiohttp.ClientSession() as session:
        while attempt <= params.retries:
            attempt += 1
            try:
                budget = max(0.1, min(params.timeout_s, deadline - loop.time()))
                status, body = await _get(session, params.url, budget)
                problem = _judge(status, body, params.expect_status, params.expect_json)
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, body, problem = 0, None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            log.append(f"attempt {attempt}: {problem or 'ok'}" + (f" — {_show(body)[:500]}" if body else ""))
            if problem is None:
                return StepResult(ok=True, summary=f"{params.url} healthy (status {status}, attempt {attempt})",
                                  output="\n".join(log), outputs={"status": status, "body": body})
            if attempt <= params.retries:
                if loop.time() + params.interval_s >= deadline:
                    log.append(f"step timeout ({ctx.timeout_s:g}s) reached: no more attempts")
                    break
                await asyncio.sleep(params.interval_s)
    return StepResult(ok=False, summary=f"{params.url} unhealthy after {attempt} attempt(s): {problem}",
                      output="\n".join(log), outputs={"status": status, "body": body})


@handler("http.smoke")
@guarded
async def smoke(params: SmokeParams, ctx: StepContext) -> StepResult:
    """GET each critical endpoint once; every check must pass."""
    base = params.base_url.rstrip("/")
    lines: list[str] = []
    failed: list[str] = []
    async with aiohttp.ClientSession() as session:
        for check in params.checks:
            url = base + (check.path if check.path.startswith("/") else "/" + check.path)
            try:
                status, body = await _get(session, url, params.timeout_s)
                problem = _judge(status, body, check.expect_status, check.expect_json)
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            lines.append(f"{'FAIL' if problem else 'ok  '} GET {check.path}" + (f": {problem}" if problem else ""))
            if problem:
                failed.append(check.path)
    passed = len(params.checks) - len(failed)
    summary = f"{passed}/{len(params.checks)} smoke checks passed on {base}"
    if failed:
        summary += f"; failed: {', '.join(failed)}"
    return StepResult(ok=not failed, summary=summary, output="\n".join(lines),
                      outputs={"passed": passed, "failed": failed})
