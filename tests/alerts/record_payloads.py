"""Record real Alertmanager payloads into tests/fixtures/alertmanager/ (run by hand, output committed).

    .venv/bin/python -m tests.alerts.record_payloads

A real Prometheus scrapes a metrics app whose latency the script drives; a real Alertmanager (grouping
by job) posts to a capturing server. Each scenario writes the notifications the tests replay.
"""

import asyncio
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.alerts.stack import monitoring_stack
from tests.alerts.support import FIXTURES
from tests.harness import free_port
from tests.harness.servers import AppServer

Payload = dict[str, Any]


class Capture:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Payload] = []
        self._server = AppServer()

    async def _receive(self, request: web.Request) -> web.Response:
        assert request.headers.get("Authorization") == "Bearer record-token"
        self.received.append(await request.json())
        return web.json_response({"status": "ok"})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._receive)
        await self._server.start(app, self.port)

    async def stop(self) -> None:
        await self._server.stop()

    async def wait(self, what: str, check: Callable[[Payload], bool], timeout: float = 30) -> Payload:  # noqa: ASYNC109
        for _ in range(int(timeout * 10)):
            for payload in reversed(self.received):
                if check(payload):
                    return payload
            await asyncio.sleep(0.1)
        raise TimeoutError(f"no notification with {what}; got {json.dumps(self.received, indent=1)[:3000]}")


def firing(payload: Payload) -> list[str]:
    return sorted(a["labels"]["alertname"] + a["labels"].get("route", "") for a in payload["alerts"]
                  if a["status"] == "firing")


def resolved(payload: Payload) -> list[str]:
    return sorted(a["labels"]["alertname"] + a["labels"].get("route", "") for a in payload["alerts"]
                  if a["status"] == "resolved")


def save(name: str, payload: Payload) -> None:
    (FIXTURES / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"recorded {name}: {payload['status']}, firing {firing(payload)}, resolved {resolved(payload)}")


async def multi_alert_group(workdir: Path) -> None:
    capture = Capture()
    await capture.start()
    try:
        async with monitoring_stack(workdir, f"http://127.0.0.1:{capture.port}/hook", "record-token",
                                    group_by=["job"]) as stack:
            stack.metrics.latency.update({"/api/checkout": 1.0, "/api/search": 1.0})
            save("group_two_firing", await capture.wait("two firing", lambda p: len(firing(p)) == 2))
            stack.metrics.latency["/api/search"] = 0.1
            save("group_one_resolved", await capture.wait("one resolved, one firing",
                                                          lambda p: len(firing(p)) == 1 and len(resolved(p)) == 1))
            stack.metrics.latency["/api/checkout"] = 0.1
            save("group_all_resolved", await capture.wait("all resolved", lambda p: p["status"] == "resolved"))
    finally:
        await capture.stop()


async def severity_raise(workdir: Path) -> None:
    capture = Capture()
    await capture.start()
    try:
        async with monitoring_stack(workdir, f"http://127.0.0.1:{capture.port}/hook", "record-token",
                                    group_by=["job"]) as stack:
            stack.metrics.latency["/api/checkout"] = 1.0
            save("raise_warning_firing", await capture.wait("the warning", lambda p: len(firing(p)) == 1))
            stack.metrics.latency["/api/checkout"] = 3.0
            save("raise_critical_firing", await capture.wait("warning and critical", lambda p: len(firing(p)) == 2))
            stack.metrics.latency["/api/checkout"] = 0.1
            save("raise_all_resolved", await capture.wait("all resolved", lambda p: p["status"] == "resolved"))
    finally:
        await capture.stop()


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="atl-record-") as tmp:
        await multi_alert_group(Path(tmp) / "multi")
        await severity_raise(Path(tmp) / "raise")


if __name__ == "__main__":
    asyncio.run(main())
