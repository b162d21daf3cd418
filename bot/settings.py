"""Environment variables (DESIGN's table), validated by pydantic-settings."""

from pathlib import Path

import platformdirs
from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError
from bot.paths import runbooks_dir


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: AnyHttpUrl = AnyHttpUrl("https://slack.com/api/")
    database_url: SecretStr | None = None
    redis_url: SecretStr | None = None
    atl_data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("atl-bot")))
    atl_config: Path | None = None
    alertmanager_token: SecretStr | None = None
    prometheus_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:9090")
    statuspage_api_key: SecretStr | None = None
    statuspage_page_id: str | None = None
    statuspage_api_url: AnyHttpUrl = AnyHttpUrl("https://api.statuspage.io/v1/")

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def config_path(self) -> Path:
        if self.atl_config is not None:
            return self.atl_config
        local = Path("atl-bot.yml")
        return local if local.exists() else runbooks_dir() / "atl-bot.example.yml"

    def require_serve(self) -> None:
        """Check what `serve` needs beyond the defaults."""
        if self.slack_bot_token is None:
            raise ConfigError("SLACK_BOT_TOKEN is not set: expected a bot token starting with xoxb-")
        if not self.slack_bot_token.get_secret_value().startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN is invalid: expected a bot token starting with xoxb-")
        if self.slack_app_token is not None:
            if not self.slack_app_token.get_secret_value().startswith("xapp-"):
                raise ConfigError("SLACK_APP_TOKEN is invalid: expected an app-level token starting with xapp-")
        elif self.slack_signing_secret is None or not self.slack_signing_secret.get_secret_value():
            raise ConfigError(
                "SLACK_SIGNING_SECRET is not set: expected the app's signing secret "
                "(or set SLACK_APP_TOKEN for Socket Mode)"
            )


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "environment"
        raise ConfigError(f"{name} is invalid: {err['msg']}") from exc
