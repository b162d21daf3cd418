"""http.health and http.smoke against a real HTTP server whose health the test scripts."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from handlers.http import HealthParams, SmokeParams, health, json_subset_mismatch, smoke
from handlers.registry import StepContext
from tests.harness.net import free_port


@dataclass
class App:
    """/health answers 503 for the first `unhealthy_for` requests, then 200 with the version."""

    version: str = "v1.0.0"
    unhealthy_for: int = 0
    calls: int = 0
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def health(self, _: web.Request) -> web.Response:
        self.calls += 1
        if self.calls <= self.unhealthy_for:
            return web.json_response({"status": "starting"}, status=503)
        return web.json_response({"status": "ok", "version": self.version, "checks": {"db": "ok", "redis": "ok"}})

    async def moved(self, _: web.Request) -> web.Response:
        raise web.HTTPFound("/health")


async def _plain(_: web.Request) -> web.Response:
    return web.Response(text="plain ok")


@pytest.fixture
async def app() -> AsyncIterator[App]:
    state = App()
    server = web.Application()
    server.router.add_get("/health", state.health)
    server.router.add_get("/old-health", state.moved)
    server.router.add_get("/text", _plain)
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", state.port).start()
    try:
        yield state
    finally:
        await runner.cleanup()


async def test_healthy_with_the_expected_json_subset(app: App) -> None:
    params = HealthParams(url=f"{app.url}/health", expect_json={"version": "v1.0.0", "checks": {"db": "ok"}})
    result = await health(params, StepContext())
    assert result.ok, result.output
    assert result.outputs["status"] == 200
    assert result.outputs["body"]["version"] == "v1.0.0"


async def test_retries_while_the_new_colour_warms_up(app: App) -> None:
    app.unhealthy_for = 2
    result = await health(HealthParams(url=f"{app.url}/health", retries=3, interval_s=0.05), StepContext())
    assert result.ok
    assert app.calls == 3
    assert "attempt 3" in result.summary
    assert "attempt 1: status 503, expected 200" in result.output


async def test_fails_after_the_retries_run_out(app: App) -> None:
    app.unhealthy_for = 100
    result = await health(HealthParams(url=f"{app.url}/health", retries=2, interval_s=0.05), StepContext())
    assert not result.ok
    assert app.calls == 3
    assert "unhealthy after 3 attempt(s): status 503, expected 200" in result.summary
    assert result.outputs["status"] == 503


async def test_the_step_timeout_ends_the_retries_and_keeps_their_log(app: App) -> None:
    app.unhealthy_for = 100
    params = HealthParams(url=f"{app.url}/health", retries=1000, interval_s=0.3)
    result = await health(params, StepContext(timeout_s=1))
    assert not result.ok
    assert 1 < app.calls < 10
    assert "step timeout (1s) reached" in result.output
    assert f"unhealthy after {app.calls} attempt(s)" in result.summary


async def test_a_wrong_version_is_unhealthy(app: App) -> None:
    params = HealthParams(url=f"{app.url}/health", expect_json={"version": "v2.0.0"}, retries=0)
    result = await health(params, StepContext())
    assert not result.ok
    assert "version is 'v1.0.0', expected 'v2.0.0'" in result.summary


async def test_nothing_listening_is_unhealthy() -> None:
    params = HealthParams(url=f"http://127.0.0.1:{free_port()}/health", retries=1, interval_s=0.05)
    result = await health(params, StepContext())
    assert not result.ok
    assert "ClientConnectorError" in result.summary


async def test_redirects_are_followed(app: App) -> None:
    result = await health(HealthParams(url=f"{app.url}/old-health", expect_json={"status": "ok"}), StepContext())
    assert result.ok


async def test_smoke_runs_every_check_and_names_the_failures(app: App) -> None:
    params = SmokeParams(base_url=app.url, checks=[
        {"path": "/health", "expect_json": {"status": "ok"}},
        {"path": "/text"},
        {"path": "/api/products", "expect_status": 200},
        {"path": "/health", "expect_json": {"version": "v0.9.0"}},
    ])
    result = await smoke(params, StepContext())
    assert not result.ok
    assert result.outputs == {"passed": 2, "failed": ["/api/products", "/health"]}
    assert "2/4 smoke checks passed" in result.summary
    assert "FAIL GET /api/products: status 404, expected 200" in result.output


async def test_smoke_passes_when_every_check_does(app: App) -> None:
    params = SmokeParams(base_url=app.url + "/", checks=[{"path": "/health"}, {"path": "text"}])
    result = await smoke(params, StepContext())
    assert result.ok, result.output


def test_json_subset_rules() -> None:
    assert json_subset_mismatch({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}, "d": 3}) is None
    assert json_subset_mismatch({"a": {"b": 1}}, {"a": {"b": 2}}) == "a.b is 2, expected 1"
    assert json_subset_mismatch({"a": 1}, {"b": 1}) == "a is missing"
    assert json_subset_mismatch({"a": 1}, "text") == "body is not an object"
    assert json_subset_mismatch({"l": [1, 2]}, {"l": [1, 2]}) is None
