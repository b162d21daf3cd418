"""Status page integration: one narrow interface (create / update / resolve) and its implementations."""

from bot.statuspage.atlassian import AtlassianStatuspage
from bot.statuspage.base import (
    AffectedComponent,
    ComponentStatus,
    IncidentStatus,
    StatusDraft,
    StatusPage,
    StatusPageAuthError,
    StatusPageError,
    StatusPageNotConfigured,
    StatusPageOutcomeUnknown,
    StatusPageUnavailable,
    StatusRef,
)
from bot.statuspage.disabled import NoStatusPage
from bot.statuspage.factory import build_status_page
from bot.statuspage.webhook import WebhookStatusPage

__all__ = [
    "AffectedComponent",
    "AtlassianStatuspage",
    "ComponentStatus",
    "IncidentStatus",
    "NoStatusPage",
    "StatusDraft",
    "StatusPage",
    "StatusPageAuthError",
    "StatusPageError",
    "StatusPageNotConfigured",
    "StatusPageOutcomeUnknown",
    "StatusPageUnavailable",
    "StatusRef",
    "WebhookStatusPage",
    "build_status_page",
]
