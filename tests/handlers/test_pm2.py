"""pm2.* with real pm2 (a PM2_HOME of the session's own) and a tiny node app, as the runbook's PM2 path."""

import asyncio
import json

import aiohttp

from handlers.pm2 import DeployParams, ListParams, SaveParams, StartParams, StopParams, deploy, list_, save, start, stop
from handlers.registry import StepContext
from tests.stack.gitrepo import git
from tests.stack.pm2 import Pm2App


async def health(app: Pm2App) -> dict[str, object] | None:
    """/health of the app; None while nothing answers."""
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            try:
                async with session.get(app.health_url) as resp:
                    return dict(await resp.json())
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    return None


async def test_the_runbooks_manual_pm2_deployment(pm2_test_app: Pm2App) -> None:
    app = pm2_test_app
    ctx = StepContext(timeout_s=60)
    started = await start(StartParams(ecosystem=str(app.ecosystem_path), env="production", name=app.app_name,
                                      settle_s=0.5), ctx)
    assert started.ok, started.output
    assert [p["status"] for p in started.outputs["processes"]] == ["online"]
    assert await health(app) == {"status": "ok", "version": "v0.9.0", "env": "production"}

    # pm2 stop audio-tai-loc; npm run build (of v1.0.0); pm2 start ecosystem.config.js --env production; pm2 save
    stopped = await stop(StopParams(name=app.app_name), ctx)
    assert stopped.ok, stopped.output
    assert [p["pm2_env"]["status"] for p in app.jlist()] == ["stopped"]  # type: ignore[index]
    git(app.app_dir, "-c", "advice.detachedHead=false", "checkout", "--quiet", "v1.0.0")
    app.build()
    restarted = await start(StartParams(ecosystem=str(app.ecosystem_path), env="production", settle_s=0.5), ctx)
    assert restarted.ok, restarted.output
    assert await health(app) == {"status": "ok", "version": "v1.0.0", "env": "production"}

    saved = await save(SaveParams(), ctx)
    assert saved.ok, saved.output
    dump = json.loads((app.home / "dump.pm2").read_text())
    assert [p["name"] for p in dump] == [app.app_name]

    listed = await list_(ListParams(), ctx)
    assert listed.ok
    assert listed.summary == "1/1 pm2 process(es) online"
    assert listed.outputs["processes"][0]["name"] == app.app_name
    assert app.app_name in listed.output


async def test_stopping_an_unknown_app_fails(pm2_test_app: Pm2App) -> None:
    result = await stop(StopParams(name="no-such-app"), StepContext(timeout_s=60))
    assert not result.ok
    assert "not found" in result.output
    assert "\x1b[" not in result.output  # no terminal colours in a Slack thread


async def test_an_app_that_crashes_on_start_is_not_online(pm2_test_app: Pm2App) -> None:
    app = pm2_test_app
    (app.app_dir / "dist" / "server.js").write_text("process.exit(3)\n")  # a broken build
    result = await start(StartParams(ecosystem=str(app.ecosystem_path), name=app.app_name, settle_s=1),
                         StepContext(timeout_s=60))
    assert not result.ok
    assert "pm2 start ran but not online: audio-tai-loc stopped" in result.summary


async def test_a_missing_ecosystem_file_fails(pm2_test_app: Pm2App) -> None:
    result = await start(StartParams(ecosystem=str(pm2_test_app.app_dir / "nope.config.js")),
                         StepContext(timeout_s=60))
    assert not result.ok
    assert "not found" in result.output


async def test_deploy_without_a_deploy_section_fails(pm2_test_app: Pm2App) -> None:
    result = await deploy(DeployParams(ecosystem=str(pm2_test_app.ecosystem_path), env="production"),
                          StepContext(timeout_s=60))
    assert not result.ok
    assert "production environment is not defined" in result.output
