"""Who may start, confirm and abort a run: roles from the configuration, the two-person rule.

A role lists Slack user IDs (U…/W…) and user groups (S…); admins hold every role. A user listed by ID holds
the role without asking Slack. Groups are asked of a GroupDirectory only for users not listed by ID, and a
group that cannot be read grants nothing: the refusal then says which group and what to do about it.
"""

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from bot.config import AppConfig
from bot.engine.model import Run


class UnreadableGroup(Exception):
    """A user group whose members cannot be known now; nobody holds a role through it."""

    def __init__(self, group: str, error: str, remedy: str) -> None:
        super().__init__(f"user group {group} could not be read ({error}): {remedy}")
        self.group = group
        self.error = error
        self.remedy = remedy


class GroupDirectory(Protocol):
    async def members(self, group: str) -> frozenset[str]:
        """The group's user IDs; UnreadableGroup when they cannot be known."""
        ...


# may_confirm / may_abort: why the user may not act on the run, or None.
PermissionCheck = Callable[[AppConfig, GroupDirectory, Run, str], Awaitable[str | None]]


@dataclass(frozen=True)
class Membership:
    held: bool
    unreadable: tuple[UnreadableGroup, ...] = ()


def is_group(principal: str) -> bool:
    return principal.startswith("S")


async def holds(config: AppConfig, groups: GroupDirectory, user: str, roles: Iterable[str]) -> Membership:
    """Whether `user` holds any of `roles`, directly or through a user group."""
    principals = list(dict.fromkeys(p for role in roles for p in config.roles.members(role)))
    if user in principals:
        return Membership(True)
    unreadable: list[UnreadableGroup] = []
    for group in filter(is_group, principals):
        try:
            if user in await groups.members(group):
                return Membership(True)
        except UnreadableGroup as exc:
            unreadable.append(exc)
    return Membership(False, tuple(unreadable))


def _unreadable(config: AppConfig, membership: Membership) -> str:
    """The groups that could not be read, where they are configured, and what to do: appended to a refusal."""
    parts = []
    for failure in membership.unreadable:
        keys = [f"roles.{key}" for key in type(config.roles).model_fields
                if failure.group in getattr(config.roles, key)]
        parts.append(f"user group {failure.group} ({', '.join(keys)}) could not be read ({failure.error}), so it "
                     f"counted for nobody: {failure.remedy}")
    return "".join(f"; {part}" for part in parts)


async def may_start(config: AppConfig, groups: GroupDirectory, user: str, role: str) -> str | None:
    """Why `user` may not start a runbook needing `role`, or None."""
    membership = await holds(config, groups, user, [role])
    if membership.held:
        return None
    return (f"<@{user}> does not have the {role} role needed for this runbook (roles.{role} in the configuration)"
            f"{_unreadable(config, membership)}")


async def may_confirm(config: AppConfig, groups: GroupDirectory, run: Run, user: str) -> str | None:
    """Why `user` may not confirm the run's dangerous step, or None."""
    roles = config.engine.confirm_roles
    if run.two_person_rule and user == run.requested_by:
        return (f"the two-person rule is on for {run.environment}: you requested this run, so someone else "
                f"({' or '.join(roles)}) must approve it")
    if not run.two_person_rule and user == run.requested_by:
        return None
    membership = await holds(config, groups, user, roles)
    if membership.held:
        return None
    return (f"<@{user}> may not confirm dangerous steps (needs the {' or '.join(roles)} role)"
            f"{_unreadable(config, membership)}")


async def may_abort(config: AppConfig, groups: GroupDirectory, run: Run, user: str) -> str | None:
    """Why `user` may not abort the run, or None."""
    if user == run.requested_by:
        return None
    roles = config.engine.abort_roles
    membership = await holds(config, groups, user, ["admin", *roles])
    if membership.held:
        return None
    return (f"<@{user}> may not abort this run (only its requester or the {' or '.join(roles)} role)"
            f"{_unreadable(config, membership)}")
