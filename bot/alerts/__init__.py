"""Alertmanager → incidents: the webhook, severity routing, and turning notifications into incident changes."""
