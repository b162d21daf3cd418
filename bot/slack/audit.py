"""Audit rows for what Slack sends us: every command and every button or form."""

import logging
from typing import Any

from bot.metrics import SLACK_ACTIONS
from bot.runtime import Runtime
from bot.store.audit import AuditEntry, Outcome, record

log = logging.getLogger(__name__)


async def audit_interaction(
    runtime: Runtime, body: dict[str, Any], action: str, detail: str, outcome: Outcome, reason: str | None = None
) -> None:
    """Record a block action or view submission; `action` is the action_id or callback_id."""
    user = (body.get("user") or {}).get("id")
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    kind = "view" if body.get("type") == "view_submission" else "action"
    SLACK_ACTIONS.labels(action=action, outcome=outcome).inc()
    log.info("slack interaction", extra={"action": action, "outcome": outcome, "reason": reason, "actor": user})
    await record(runtime.store, AuditEntry(user, kind, action, detail, channel, outcome, reason))
