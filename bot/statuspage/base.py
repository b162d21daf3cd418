"""The status page interface: a draft in, a reference to the status-page incident out."""

from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field


class IncidentStatus(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class ComponentStatus(StrEnum):
    OPERATIONAL = "operational"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"


class AffectedComponent(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, description="our name for it, as in statuspage.components")
    status: ComponentStatus


class StatusDraft(BaseModel):
    """What the public status page should say now; people edit it before it is posted."""

    model_config = ConfigDict(frozen=True)

    status: IncidentStatus
    title: str = Field(min_length=1, max_length=255)  # Statuspage's limit on an incident name
    message: str = Field(min_length=1, max_length=25_000)  # and on an update's body
    components: list[AffectedComponent] = Field(default_factory=list)

    def resolved(self) -> "StatusDraft":
        """The closing update: status resolved, every affected component back to operational."""
        return self.model_copy(update={
            "status": IncidentStatus.RESOLVED,
            "components": [c.model_copy(update={"status": ComponentStatus.OPERATIONAL}) for c in self.components],
        })


class StatusRef(BaseModel):
    """Which status-page incident an incident of ours is posted as (stored on the timeline)."""

    model_config = ConfigDict(frozen=True)

    provider: str
    id: str
    url: str | None = None


class StatusPageError(Exception):
    """The status page refused or could not take the update; the message says what to do."""


class StatusPageNotConfigured(StatusPageError):
    pass


class StatusPageAuthError(StatusPageError):
    pass


class StatusPageUnavailable(StatusPageError):
    """Retries ran out (5xx, 429, network); trying again later may work."""


class StatusPageOutcomeUnknown(StatusPageUnavailable):
    """A create may have reached the page although we could not confirm it: look before posting again."""


class StatusPage(Protocol):
    # False: nothing is posted; callers show the draft for people to copy to the status page themselves.
    configured: bool
    name: str

    async def create(self, draft: StatusDraft) -> StatusRef: ...

    async def update(self, ref: StatusRef, draft: StatusDraft) -> StatusRef: ...

    async def resolve(self, ref: StatusRef, draft: StatusDraft) -> StatusRef: ...

    async def close(self) -> None: ...
