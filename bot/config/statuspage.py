"""The `statuspage:` section: which status page components we map to, and how often P1/P2 prompt for updates.

The API key and page ID are secrets/environment (STATUSPAGE_API_KEY, STATUSPAGE_PAGE_ID); this file only
holds what is safe to commit.
"""

from datetime import timedelta
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, PositiveInt, StringConstraints

# Atlassian component IDs are short lowercase alphanumerics, e.g. "8kbf7d35c070".
ComponentId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{6,32}$")]
ComponentName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PromptCadence(Strict):
    """Minutes between status-page update prompts while an incident is open; unset: no repeated prompt."""

    P1: PositiveInt | None = 20
    P2: PositiveInt | None = 30
    P3: PositiveInt | None = None
    P4: PositiveInt | None = None

    def for_severity(self, severity: str) -> timedelta | None:
        minutes: int | None = getattr(self, severity.upper(), None)
        return timedelta(minutes=minutes) if minutes else None


class StatusPageConfig(Strict):
    components: dict[ComponentName, ComponentId] = Field(
        default_factory=dict, description="our component name → Atlassian Statuspage component ID")
    auto_resolve: bool = Field(
        default=False, description="resolve the status-page incident when the incident resolves, without asking")
    webhook_url: AnyHttpUrl | None = Field(
        default=None, description="post drafts as JSON here instead of to Atlassian Statuspage")
    deliver_notifications: bool = Field(default=True, description="let the status page notify its subscribers")
    prompt_every_minutes: PromptCadence = Field(default_factory=PromptCadence)
