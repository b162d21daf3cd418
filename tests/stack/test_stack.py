"""The stack itself comes up as the runbook's production layout describes, and the bot's config accepts it."""

import asyncio
from contextlib import closing

import aiohttp
import psycopg

from bot.config.environments import EnvironmentConfig
from tests.stack.bluegreen import IMAGE, BlueGreenStack, ColourSlot, run_colour
from tests.stack.gitrepo import git
from tests.stack.images import build_app_image


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            try:
                async with session.get(url) as resp:
                    return resp.status, await resp.text()
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never answered")


async def test_blue_green_stack_starts_with_green_live(blue_green_stack: BlueGreenStack) -> None:
    stack = blue_green_stack
    assert stack.served_version() == "v0.9.0"
    header = stack.state_header()
    assert header is not None and header["colour"] == "green" and header["version"] == "v0.9.0"
    assert stack.container_status("green") == "running"
    assert stack.container_status("blue") is None
    status, body = await _get(f"{stack.colours['green'].url}/health/detailed")
    assert (status, body.strip()) == (200, '{"status":"ok","version":"v0.9.0","checks":{"app":"ok"}}')

    # v0.9.0's migration ran inside the green container against the stack's database.
    assert stack.database_url is not None
    async with await psycopg.AsyncConnection.connect(stack.database_url) as conn:
        rows = await (await conn.execute("SELECT name FROM schema_migrations")).fetchall()
    assert rows == [("20240101120000-create-orders",)]

    # Both checkouts know every release tag.
    tags = git(stack.colours["blue"].app_dir, "tag", "--list").split()
    assert tags == ["v0.9.0", "v1.0.0", "v1.1.0-broken"]

    config = EnvironmentConfig.model_validate(stack.environment_config())
    assert config.colours["blue"].port == stack.ports["blue"]
    assert config.nginx.site_path == str(stack.site_path)


async def test_the_broken_release_fails_its_detailed_health_check(blue_green_stack: BlueGreenStack) -> None:
    stack = blue_green_stack
    blue = stack.colours["blue"]
    git(blue.app_dir, "-c", "advice.detachedHead=false", "checkout", "--quiet", "v1.1.0-broken")
    with closing(stack.client()) as client:
        build_app_image(client, blue.app_dir, f"{IMAGE}:v1.1.0-broken")
        run_colour(client, ColourSlot("blue", blue.port, blue.container, blue.app_dir), f"{IMAGE}:v1.1.0-broken",
                   stack.container_env, "v1.1.0-broken")
    status, body = await _get(f"{blue.url}/health/")
    assert status == 200 and '"status":"failing"' in body
    status, _ = await _get(f"{blue.url}/health/detailed")
    assert status == 404
