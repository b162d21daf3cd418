"""`alerts:` section: the Alertmanager webhook and incident threads. Every key has a default."""

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import AnyHttpUrl, BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from bot.alerts.routing import RoutingRules, load_routing
from bot.paths import runbooks_dir

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(value: Any) -> Any:
    """`90s`, `30m`, `1h`, `1h30m`, `2d` or a number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        m = _DURATION.match(value.strip())
        if not m or not any(m.groups()):
            raise ValueError(f"{value!r} is not a duration (expected e.g. 90s, 30m, 1h, 1h30m, 2d)")
        d, h, mi, s = (int(g or 0) for g in m.groups())
        return timedelta(days=d, hours=h, minutes=mi, seconds=s)
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def default_routing_file() -> Path:
    return runbooks_dir() / "alert-routing.yml"


class AlertsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # A group that fires again within this long after its incident resolved reopens that incident.
    reopen_window: Duration = timedelta(hours=1)
    # Ordered label rules → P1–P4; unset: the shipped runbooks/alert-routing.yml.
    routing_file: Path | None = None
    # Where the bot reaches Alertmanager's API for silences; unset: the payload's externalURL.
    alertmanager_url: AnyHttpUrl | None = None
    # Alertmanager `basic_auth` users accepted besides the ALERTMANAGER_TOKEN bearer token.
    basic_auth: dict[str, SecretStr] = Field(default_factory=dict)
    # Labels shown on incident headers when the group's alerts share them.
    key_labels: list[str] = Field(default_factory=lambda: ["env", "service", "job", "instance", "severity"])
    # How long the Silence button silences the group.
    silence_duration: Duration = timedelta(hours=1)

    _routing: RoutingRules = PrivateAttr(default_factory=RoutingRules)

    @model_validator(mode="after")
    def _load_routing(self) -> "AlertsConfig":
        # Loaded with the configuration so a bad routing file stops startup (ConfigError: file, line, reason).
        path = self.routing_file or default_routing_file()
        if self.routing_file is not None or path.exists():
            self._routing = load_routing(path)
        return self

    @property
    def routing(self) -> RoutingRules:
        return self._routing
