"""The bot under test, in process: the real Runtime, Bolt app and web app on a free port."""

import copy
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import psycopg
import yaml
from aiohttp import web
from psycopg.rows import dict_row
from slack_bolt.async_app import AsyncApp

from bot.config import AppConfig, load_config
from bot.runtime import Runtime
from bot.server import running_runtime
from bot.settings import Settings
from bot.slack.app import build_app
from bot.web import build_web_app
from tests.harness.fake_slack import FakeSlack
from tests.harness.slack_client import HttpResult, SignedSlack, _json_or_none

SIGNING_SECRET = "test-signing-secret"
ALERTMANAGER_TOKEN = "am-token"

DEFAULT_CONFIG: dict[str, Any] = {
    "timezone": "Asia/Ho_Chi_Minh",
    "channels": {"incidents": "C0INCIDENTS", "alerts": "C0ALERTS00", "deploys": "C0DEPLOYS0"},
    "roles": {"deployer": ["U0DEPLOYER"], "approver": ["U0APPROVER"], "admin": ["U0ADMIN000"]},
}


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Overrides win; nested mappings merge; a None value removes the key."""
    merged = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def write_config(path: Path, overrides: Mapping[str, Any] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(deep_merge(DEFAULT_CONFIG, overrides or {}), sort_keys=False), encoding="utf-8")
    return path


@dataclass
class BotUnderTest:
    url: str
    runtime: Runtime
    fake_slack: FakeSlack
    slack: SignedSlack
    config_path: Path
    database_url: str
    redis_url: str
    bolt: AsyncApp
    web_app: web.Application

    @property
    def config(self) -> AppConfig:
        return self.runtime.config

    async def get(self, path: str, **kwargs: Any) -> HttpResult:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> HttpResult:
        return await self.request("POST", path, **kwargs)

    async def request(self, method: str, path: str, **kwargs: Any) -> HttpResult:
        """Any HTTP request to the bot; kwargs go to aiohttp (json=, data=, headers=)."""
        async with aiohttp.ClientSession() as session, session.request(method, self.url + path, **kwargs) as resp:
            text = await resp.text()
            return HttpResult(resp.status, text, _json_or_none(text), dict(resp.headers))

    async def query(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        """Read the bot's database directly, to check what it recorded."""
        async with await psycopg.AsyncConnection.connect(self.database_url, autocommit=True,
                                                         row_factory=dict_row) as conn:
            cur = await conn.execute(sql, params or None)
            return list(await cur.fetchall()) if cur.description else []


class MakeBot(Protocol):
    """The `make_bot` fixture: `async with make_bot(config={...}, env={...}) as bot:`."""

    def __call__(self, *, config: dict[str, Any] | None = None,
                 env: dict[str, Any] | None = None) -> AbstractAsyncContextManager[BotUnderTest]: ...


def _settings(env: Mapping[str, Any]) -> Settings:
    # Field names are the variables' names in lower case; None means "unset".
    fields = {key.lower(): value for key, value in env.items() if value is not None}
    return Settings(_env_file=None, **fields)  # type: ignore[call-arg]


@asynccontextmanager
async def run_bot(
    *,
    fake_slack: FakeSlack,
    database_url: str,
    redis_url: str,
    workdir: Path,
    config: Mapping[str, Any] | None = None,
    env: Mapping[str, Any] | None = None,
) -> AsyncIterator[BotUnderTest]:
    """Start the bot the way `atl-bot serve` does, minus the process: runtime, Bolt, web app."""
    config_path = write_config(workdir / "atl-bot.yml", config)
    values: dict[str, Any] = {
        "SLACK_BOT_TOKEN": fake_slack.token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ATL_DATA_DIR": str(workdir / "data"),
        "ATL_CONFIG": str(config_path),
        "ALERTMANAGER_TOKEN": ALERTMANAGER_TOKEN,
        "PROMETHEUS_URL": "http://127.0.0.1:9",
        **{k.upper(): v for k, v in (env or {}).items()},
    }
    settings = _settings(values)
    settings.require_serve()
    app_config = load_config(settings.config_path())
    async with running_runtime(settings, app_config) as runtime:
        bolt = build_app(runtime)
        app = build_web_app(runtime, bolt)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            url = f"http://127.0.0.1:{port}"
            secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
            db = settings.database_url.get_secret_value() if settings.database_url else ""
            rd = settings.redis_url.get_secret_value() if settings.redis_url else ""
            yield BotUnderTest(url=url, runtime=runtime, fake_slack=fake_slack,
                               slack=SignedSlack(url + "/slack/events", secret, fake_slack),
                               config_path=config_path, database_url=db, redis_url=rd, bolt=bolt, web_app=app)
        finally:
            await runner.cleanup()
