"""Who may start, confirm and abort a run: roles from the configuration, the two-person rule."""

from bot.config import AppConfig
from bot.engine.model import Run


def holds(config: AppConfig, user: str, role: str) -> bool:
    """Membership by Slack user ID (admins hold every role). User-group IDs (S…) are not expanded."""
    return user in config.roles.members(role)


def may_start(config: AppConfig, user: str, role: str) -> str | None:
    """Why `user` may not start a runbook needing `role`, or None."""
    if holds(config, user, role):
        return None
    return f"<@{user}> does not have the {role} role needed for this runbook (roles.{role} in the configuration)"


def may_confirm(config: AppConfig, run: Run, user: str) -> str | None:
    """Why `user` may not confirm the run's dangerous step, or None."""
    roles = config.engine.confirm_roles
    if run.two_person_rule and user == run.requested_by:
        return (f"the two-person rule is on for {run.environment}: you requested this run, so someone else "
                f"({' or '.join(roles)}) must approve it")
    if not run.two_person_rule and user == run.requested_by:
        return None
    if any(holds(config, user, role) for role in roles):
        return None
    return f"<@{user}> may not confirm dangerous steps (needs the {' or '.join(roles)} role)"


def may_abort(config: AppConfig, run: Run, user: str) -> str | None:
    if user == run.requested_by or holds(config, user, "admin"):
        return None
    if any(holds(config, user, role) for role in config.engine.abort_roles):
        return None
    return f"<@{user}> may not abort this run (only its requester or the {' or '.join(config.engine.abort_roles)} role)"
