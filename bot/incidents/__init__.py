"""Incidents: one record per incident (from an Alertmanager group or declared by hand) and its timeline."""

from bot.incidents.model import Incident, IncidentStatus, TimelineEvent, TimelineKind
from bot.incidents.severity import Severity

__all__ = ["Incident", "IncidentStatus", "Severity", "TimelineEvent", "TimelineKind"]
