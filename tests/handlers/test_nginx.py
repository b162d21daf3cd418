"""nginx.switch, nginx.live, nginx.reload against a real nginx in front of two real backends."""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from handlers.nginx import LiveParams, ReloadParams, SwitchParams, live, reload, switch
from handlers.registry import StepContext
from tests.harness.net import free_port
from tests.stack.nginx import NginxServer


async def _serve(version: str) -> tuple[web.AppRunner, int]:
    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "version": version})

    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


@pytest.fixture
async def backends() -> AsyncIterator[dict[str, int]]:
    """blue serves v1.0.0, green v0.9.0; colour → port."""
    blue, blue_port = await _serve("v1.0.0")
    green, green_port = await _serve("v0.9.0")
    try:
        yield {"blue": blue_port, "green": green_port}
    finally:
        await blue.cleanup()
        await green.cleanup()


def switch_params(nginx: NginxServer, colour: str, port: int, version: str | None, **extra: object) -> SwitchParams:
    return SwitchParams.model_validate({
        "site_path": str(nginx.site_path), "colour": colour, "servers": [f"127.0.0.1:{port}"], "version": version,
        "test_cmd": nginx.test_cmd, "reload_cmd": nginx.reload_cmd, **extra,
    })


async def served_version(nginx: NginxServer) -> str | None:
    async with aiohttp.ClientSession() as session, session.get(f"{nginx.url}/health") as resp:
        return str((await resp.json())["version"]) if resp.status == 200 else None


async def wait_served(nginx: NginxServer, version: str, in_a_row: int = 10) -> None:
    """A reload is a signal: for a moment after `nginx -s reload` returns, old workers may still answer.
    Settled means `in_a_row` answers in a row from the new configuration."""
    streak = 0
    for _ in range(400):
        streak = streak + 1 if await served_version(nginx) == version else 0
        if streak == in_a_row:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"nginx never settled on {version}")


async def test_switch_writes_the_state_and_nginx_serves_the_new_colour(
    nginx: NginxServer, backends: dict[str, int]
) -> None:
    first = await switch(switch_params(nginx, "green", backends["green"], "v0.9.0"), StepContext())
    assert first.ok, first.output
    assert first.outputs["previous_colour"] is None
    await wait_served(nginx, "v0.9.0")

    second = await switch(switch_params(nginx, "blue", backends["blue"], "v1.0.0"), StepContext())
    assert second.ok, second.output
    assert second.outputs == {"previous_colour": "green", "previous_version": "v0.9.0", "colour": "blue",
                              "version": "v1.0.0"}
    assert "was green v0.9.0" in second.summary
    await wait_served(nginx, "v1.0.0")

    text = nginx.site_path.read_text()
    header = json.loads(text.splitlines()[0].removeprefix("# atl-bot-state: "))
    assert header["colour"] == "blue" and header["version"] == "v1.0.0"
    assert header["servers"] == [f"127.0.0.1:{backends['blue']}"]
    assert f"server 127.0.0.1:{backends['blue']};" in text
    assert not [p for p in nginx.site_path.parent.iterdir() if p.name.startswith(".upstream.conf.")]


async def test_a_config_nginx_rejects_restores_the_old_file_and_reloads_nothing(
    nginx: NginxServer, backends: dict[str, int]
) -> None:
    assert (await switch(switch_params(nginx, "green", backends["green"], "v0.9.0"), StepContext())).ok
    await wait_served(nginx, "v0.9.0")
    before = nginx.site_path.read_bytes()

    # A server name that does not resolve: `nginx -t` refuses the upstream ("host not found").
    broken = SwitchParams.model_validate({**switch_params(nginx, "blue", 1, "v1.0.0").model_dump(),
                                          "servers": ["blue-backend.invalid:3000"]})
    result = await switch(broken, StepContext())
    assert not result.ok
    assert "rejected the new upstream" in result.summary and "restored the previous file" in result.summary
    assert "blue-backend.invalid" in result.output
    assert nginx.site_path.read_bytes() == before
    assert await served_version(nginx) == "v0.9.0"


async def test_a_failed_reload_restores_the_old_file(nginx: NginxServer, backends: dict[str, int]) -> None:
    assert (await switch(switch_params(nginx, "green", backends["green"], "v0.9.0"), StepContext())).ok
    before = nginx.site_path.read_bytes()
    result = await switch(switch_params(nginx, "blue", backends["blue"], "v1.0.0", reload_cmd=["false"]),
                          StepContext())
    assert not result.ok
    assert "false failed (exit 1); restored the previous file" in result.summary
    assert nginx.site_path.read_bytes() == before


async def test_live_reads_the_colour_and_verifies_it_against_health(
    nginx: NginxServer, backends: dict[str, int]
) -> None:
    assert (await switch(switch_params(nginx, "blue", backends["blue"], "v1.0.0"), StepContext())).ok
    await wait_served(nginx, "v1.0.0")
    result = await live(LiveParams(site_path=str(nginx.site_path), health_url=f"{nginx.url}/health"), StepContext())
    assert result.ok, result.summary
    assert result.outputs["colour"] == "blue"
    assert result.outputs["version"] == "v1.0.0"
    assert result.outputs["idle_colour"] == "green"


async def test_live_refuses_a_state_that_disagrees_with_what_is_served(
    nginx: NginxServer, backends: dict[str, int]
) -> None:
    # The state claims blue v1.0.0 but the upstream really points at green (v0.9.0), as after a hand edit.
    assert (await switch(switch_params(nginx, "blue", backends["green"], "v1.0.0"), StepContext())).ok
    await wait_served(nginx, "v0.9.0")
    result = await live(LiveParams(site_path=str(nginx.site_path), health_url=f"{nginx.url}/health"), StepContext())
    assert not result.ok
    assert "nginx says blue v1.0.0 is live but" in result.summary and "reports version v0.9.0" in result.summary


async def test_live_without_a_state_header_says_how_to_fix_it(nginx: NginxServer) -> None:
    # The fixture's first upstream file is hand-written: no header.
    result = await live(LiveParams(site_path=str(nginx.site_path)), StepContext())
    assert not result.ok
    assert "no atl-bot state header" in result.summary
    missing = await live(LiveParams(site_path=str(nginx.dir / "nope.conf")), StepContext())
    assert not missing.ok and "does not exist" in missing.summary


async def test_live_without_health_url_trusts_the_state(nginx: NginxServer, backends: dict[str, int]) -> None:
    assert (await switch(switch_params(nginx, "green", backends["green"], None), StepContext())).ok
    result = await live(LiveParams(site_path=str(nginx.site_path)), StepContext())
    assert result.ok
    assert result.outputs["colour"] == "green" and result.outputs["idle_colour"] == "blue"


async def test_reload_tests_first(nginx: NginxServer, tmp_path: Path) -> None:
    ok = await reload(ReloadParams(test_cmd=nginx.test_cmd, reload_cmd=nginx.reload_cmd), StepContext())
    assert ok.ok, ok.output
    nginx.conf.write_text(nginx.conf.read_text().replace("events {", "events { bogus_directive on;"))
    bad = await reload(ReloadParams(test_cmd=nginx.test_cmd, reload_cmd=nginx.reload_cmd), StepContext())
    assert not bad.ok
    assert "not reloaded" in bad.summary
    assert "bogus_directive" in bad.output


@pytest.mark.parametrize("server", ["127.0.0.1:3000; } server { listen 80", "127.0.0.1", "evil host:80"])
def test_servers_cannot_smuggle_config(server: str) -> None:
    with pytest.raises(ValueError):
        SwitchParams.model_validate({"site_path": "/x", "colour": "blue", "servers": [server],
                                     "test_cmd": ["true"], "reload_cmd": ["true"]})
