"""Alertmanager's webhook_config payload, version 4, as a pydantic model of the whole document."""

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Go's zero time: Alertmanager sends it as endsAt of alerts that are still firing.
_GO_ZERO_YEAR = 1


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class _Model(BaseModel):
    # Unknown fields are ignored: newer Alertmanagers may add some, and the version field guards the shape.
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class Alert(_Model):
    status: AlertStatus
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = Field(min_length=1, max_length=128)

    @field_validator("ends_at")
    @classmethod
    def _zero_is_none(cls, value: datetime | None) -> datetime | None:
        return None if value is not None and value.year == _GO_ZERO_YEAR else value

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("timestamps must carry a time zone (RFC 3339)")
        return value

    @property
    def name(self) -> str:
        return self.labels.get("alertname", self.fingerprint)

    @property
    def order(self) -> tuple[datetime, int]:
        """Newer states sort later: a later startsAt (a new firing), then resolved after firing."""
        return self.starts_at, 1 if self.status is AlertStatus.RESOLVED else 0


class Notification(_Model):
    version: Literal["4"]
    group_key: str = Field(alias="groupKey", min_length=1)
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts", ge=0)
    status: AlertStatus
    receiver: str = Field(min_length=1)
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    alerts: list[Alert] = Field(min_length=1)

    def latest_alerts(self) -> list[Alert]:
        """One state per fingerprint (the newest), sorted by fingerprint so row locks are taken in one order."""
        best: dict[str, Alert] = {}
        for alert in self.alerts:
            seen = best.get(alert.fingerprint)
            if seen is None or alert.order > seen.order:
                best[alert.fingerprint] = alert
        return [best[fp] for fp in sorted(best)]


def digest_of(document: dict[str, Any]) -> str:
    """Identity of a delivery, whatever its key order or spacing: Alertmanager's retries and repeats of an
    unchanged group are equal."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def describe_error(exc: Exception) -> str:
    """The first validation problem, in words for the 400 answer."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    first: dict[str, Any] = errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "payload"
    if first.get("type") == "missing":
        return f"{where}: required field is missing"
    if where == "version":
        return (f"version {first.get('input')!r} is not supported:"
                " expected an Alertmanager webhook payload, version \"4\"")
    return f"{where}: {first.get('msg')}"
