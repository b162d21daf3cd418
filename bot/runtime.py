"""Everything a request handler may use, built once at startup."""

from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.config import AppConfig
from bot.coord import Coordination
from bot.settings import Settings
from bot.store import Store


@dataclass
class Runtime:
    settings: Settings
    config: AppConfig
    store: Store
    coord: Coordination
    slack: AsyncWebClient
    # Capabilities attach their services here by name (alerts, engine, incidents, …).
    services: dict[str, Any] = field(default_factory=dict)
