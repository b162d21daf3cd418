"""`environments:` — where each environment's blue/green colours, nginx, database and Redis live.

The runbooks read these through `{{ env.… }}`; nothing here runs anything.
"""

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from bot.config.types import Regex
from bot.runbooks.duration import Duration

DEFAULT_TAG_PATTERN = r"^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$"
Colour = Literal["blue", "green"]
Argv = list[Annotated[str, StringConstraints(min_length=1)]]


def _absolute(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"{value!r} is not an absolute path (expected e.g. /app/audio-tai-loc-blue)")
    return value


def _http_url(value: str) -> str:
    if urlsplit(value).scheme not in {"http", "https"} or not urlsplit(value).netloc:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


def _env_name(value: str) -> str:
    # Not StringConstraints: the config loader words pattern errors as Slack IDs.
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,31}", value):
        raise ValueError(f"{value!r} is not an environment name (lowercase, e.g. production, staging)")
    return value


def _url_path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"{value!r} is not a URL path (expected e.g. /health)")
    return value


EnvName = Annotated[str, AfterValidator(_env_name)]
UrlPath = Annotated[str, AfterValidator(_url_path)]
AbsPath = Annotated[str, AfterValidator(_absolute)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColourConfig(Strict):
    app_dir: AbsPath  # git checkout the colour is built from
    port: int = Field(ge=1, le=65535)  # host port nginx sends traffic to
    container: str  # container name, e.g. audio-tai-loc-blue


class NginxConfig(Strict):
    site_path: AbsPath  # the upstream file nginx.switch rewrites (included by the site)
    upstream: str = "atl_backend"
    test_cmd: Argv = ["sudo", "nginx", "-t"]
    reload_cmd: Argv = ["sudo", "systemctl", "reload", "nginx"]


class SmokeCheck(Strict):
    path: UrlPath
    expect_status: int = 200
    expect_json: dict[str, Any] = Field(default_factory=dict)


class HealthConfig(Strict):
    public_url: HttpUrl  # /health as users reach it, through nginx
    detailed_path: UrlPath = "/health/detailed"  # asked of the new colour directly before the switch
    smoke_checks: list[SmokeCheck] = Field(default_factory=lambda: [SmokeCheck(path="/health")])
    smoke_cmd: Argv = Field(default_factory=list)  # e.g. [./scripts/smoke-test.sh]; the colour is appended


class MigrationsConfig(Strict):
    """argv run inside the app container (the runbook's `npm run db:migrate:*`)."""

    migrate: Argv = ["npm", "run", "db:migrate:prod"]
    status: Argv = ["npm", "run", "db:migrate:status"]
    rollback: Argv = ["npm", "run", "db:migrate:rollback"]
    rollback_to: Argv = ["npm", "run", "db:migrate:rollback", "--"]  # `--to=NAME` is appended


class Pm2Config(Strict):
    app_dir: AbsPath
    ecosystem: AbsPath
    app_name: str = "audio-tai-loc"
    env: str = "production"  # the ecosystem's env_<name> block
    build_cmd: Argv = ["npm", "run", "build"]
    use_deploy: bool = False  # `pm2 deploy ecosystem env` instead of stop / start / save


class EnvironmentConfig(Strict):
    two_person_rule: bool | None = None  # None → on for production only (filled in by Environments)
    tag_pattern: Regex = DEFAULT_TAG_PATTERN
    git_remote: str = "origin"
    image: str = "audio-tai-loc-backend"
    app_host: str = "127.0.0.1"  # where the colours' host ports listen
    container_port: int = Field(default=3000, ge=1, le=65535)
    container_env: dict[str, str] = Field(default_factory=dict)
    env_file: str | None = ".env.production"  # copied to .env in the checkout, as the runbook does
    colours: dict[Colour, ColourConfig]
    nginx: NginxConfig
    health: HealthConfig
    migrations: MigrationsConfig = Field(default_factory=MigrationsConfig)
    database_dsn: SecretStr | None = None
    database_name: str | None = None  # defaults to the DSN's database
    redis_url: SecretStr | None = None
    prometheus_url: HttpUrl | None = None  # unset → PROMETHEUS_URL
    monitor_window: Duration = 600.0
    monitor_interval: Duration = 15.0
    cleanup_after: Duration = 86400.0
    confirmation_ttl: Duration = 900.0
    backups_dir: AbsPath = "/backups"
    cert_path: AbsPath = "/etc/letsencrypt/live/audiotailoc.com/cert.pem"
    pm2: Pm2Config | None = None

    @field_validator("colours")
    @classmethod
    def _both_colours(cls, value: dict[str, ColourConfig]) -> dict[str, ColourConfig]:
        if set(value) != {"blue", "green"}:
            raise ValueError("expected both colours, blue and green")
        if value["blue"].port == value["green"].port:
            raise ValueError("blue and green need different ports")
        return value

    @model_validator(mode="before")
    @classmethod
    def _database_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("database_name") is None and data.get("database_dsn"):
            dsn = data["database_dsn"]
            raw = dsn.get_secret_value() if isinstance(dsn, SecretStr) else str(dsn)
            data = {**data, "database_name": dsn_database(raw)}
        return data

    def template_values(self, name: str, prometheus_url: str) -> dict[str, Any]:
        """What `{{ env.… }}` sees: every key above plus `name`; secrets stay SecretStr until run time."""
        values = self.model_dump()
        values["name"] = name
        values["prometheus_url"] = self.prometheus_url or prometheus_url.rstrip("/")
        return values


def dsn_database(dsn: str) -> str | None:
    """The database a URL (`postgresql://…/db`) or keyword (`dbname=db …`) DSN names."""
    if "://" in dsn:
        name = urlsplit(dsn).path.lstrip("/")
        return name or None
    match = re.search(r"(?:^|\s)dbname\s*=\s*'?([^'\s]+)", dsn)
    return match.group(1) if match else None


def _defaults(value: dict[str, EnvironmentConfig]) -> dict[str, EnvironmentConfig]:
    # The two-person rule protects production unless someone turns it off on purpose.
    return {
        name: _with_rule(name, env)
        for name, env in value.items()
    }


def _with_rule(name: str, env: EnvironmentConfig) -> EnvironmentConfig:
    if env.two_person_rule is not None:
        return env
    return env.model_copy(update={"two_person_rule": name == "production"})


Environments = Annotated[dict[EnvName, EnvironmentConfig], AfterValidator(_defaults)]
