"""Root of the configuration file; required keys are DESIGN's, the rest have defaults."""

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from bot.config.alerts import AlertsConfig
from bot.config.environments import Environments
from bot.config.escalation import EscalationConfig
from bot.config.response import ResponseConfig
from bot.config.statuspage import StatusPageConfig
from bot.config.types import yaml_mapping
from bot.engine.config import EngineConfig
from bot.errors import ConfigError

ChannelId = Annotated[str, StringConstraints(pattern=r"^[CGD][A-Z0-9]{6,}$")]
Principal = Annotated[str, StringConstraints(pattern=r"^[UWS][A-Z0-9]{6,}$")]

HINTS = {
    "ChannelId": "a Slack channel ID like C0123456789",
    "Principal": "a Slack user ID (U…) or user-group ID (S…)",
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Channels(Strict):
    incidents: ChannelId
    alerts: ChannelId
    deploys: ChannelId


class Roles(Strict):
    deployer: list[Principal]
    approver: list[Principal]
    admin: list[Principal]

    def members(self, role: str) -> list[str]:
        """Principals holding a role; admins hold every role."""
        own: list[str] = getattr(self, role, [])
        return [*own, *self.admin] if role != "admin" else list(self.admin)


class AppConfig(Strict):
    timezone: str
    channels: Channels
    roles: Roles
    grafana_dashboards: dict[str, str] = Field(default_factory=dict)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    environments: Environments = Field(default_factory=dict)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    statuspage: StatusPageConfig = Field(default_factory=StatusPageConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    response: ResponseConfig = Field(default_factory=ResponseConfig)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}, expected e.g. Asia/Ho_Chi_Minh") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _describe(err: dict) -> str:  # type: ignore[type-arg]
    key = ".".join(str(p) for p in err["loc"]) or "(top level)"
    msg = err["msg"]
    if err["type"] == "missing":
        msg = "required key is missing"
    elif err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif err["type"] == "string_pattern_mismatch":
        pattern = str(err.get("ctx", {}).get("pattern", ""))
        hint = HINTS["ChannelId"] if pattern.startswith("^[CGD]") else HINTS["Principal"]
        msg = f"{err['input']!r} is not {hint}"
    elif err["type"] == "value_error":
        msg = str(msg).removeprefix("Value error, ")
    return f"{key}: {msg}"


def load_config(path: Path) -> AppConfig:
    """Read and validate the configuration; ConfigError names the file and the key."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"ATL_CONFIG: {path} does not exist; expected a YAML configuration file") from exc
    raw = yaml_mapping(text, str(path), "a mapping of keys (timezone, channels, roles, …)")
    try:
        return AppConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_describe(exc.errors()[0])}") from exc  # type: ignore[arg-type]
