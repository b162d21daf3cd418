"""atl-bot: the Audio Tài Lộc production runbook, run from Slack."""

__version__ = "0.1.0"
