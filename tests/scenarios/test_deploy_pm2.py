"""The runbook's "Deployment Using PM2" with real pm2 and a tiny node app: build, stop, start with the
production env, save — the stop confirmed by the requester (staging: no two-person rule)."""

import asyncio
from pathlib import Path

import aiohttp

from tests.engine.support import DEPLOYER, buttons, click, command, engine, run_message, step_statuses, wait_run
from tests.harness.bot import MakeBot
from tests.stack.pm2 import Pm2App


async def _health(url: str) -> dict | None:  # type: ignore[type-arg]
    """/health of the app; None while nothing answers (pm2 says online before node listens)."""
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            try:
                async with session.get(url) as resp:
                    return dict(await resp.json())
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    return None


async def test_deploy_with_pm2(make_bot: MakeBot, pm2_test_app: Pm2App, tmp_path: Path) -> None:
    app = pm2_test_app
    started = app.pm2("start", str(app.ecosystem_path), "--env", "production")
    assert started.returncode == 0, started.stderr
    assert (await _health(app.health_url) or {}).get("version") == "v0.9.0"
    staging = {
        # PM2 needs no colours, but an environment always describes them; these are never used here.
        "colours": {"blue": {"app_dir": str(tmp_path / "blue"), "port": 4002, "container": "unused-blue"},
                    "green": {"app_dir": str(tmp_path / "green"), "port": 4001, "container": "unused-green"}},
        "nginx": {"site_path": str(tmp_path / "upstream.conf")},
        "health": {"public_url": app.health_url},
        "pm2": {"app_dir": str(app.app_dir), "ecosystem": str(app.ecosystem_path), "app_name": app.app_name,
                "env": "production"},
    }
    async with make_bot(config={"environments": {"staging": staging}}) as bot:
        await command(bot, "/deploy", "v1.0.0 staging --pm2", user=DEPLOYER)
        await wait_run(bot, 1, "waiting", timeout=120)
        message = await run_message(bot, 1, lambda m: "run_confirm" in buttons(m))
        assert buttons(message)["run_confirm"]["confirm"]["text"]["text"] == (
            "Stop audio-tai-loc in staging and start it again on v1.0.0: it serves nothing until the start step "
            "finishes")
        await click(bot, 1, "run_confirm", DEPLOYER)
        run = await wait_run(bot, 1, "succeeded", "failed", timeout=120)
        await engine(bot).idle()
    assert run["status"] == "succeeded", run["error"]
    assert await step_statuses(bot, 1) == {
        "fetch": "done", "verify_tag": "done", "checkout": "done", "build": "done", "pm2_deploy": "skipped",
        "stop": "done", "start": "done", "save": "done", "verify": "done",
    }
    health = await _health(app.health_url)
    assert health == {"status": "ok", "version": "v1.0.0", "env": "production"}
    [process] = app.jlist()
    assert process["name"] == "audio-tai-loc" and process["pm2_env"]["status"] == "online"  # type: ignore[index]
    assert (app.home / "dump.pm2").exists()
