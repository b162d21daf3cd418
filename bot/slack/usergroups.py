"""Members of Slack user groups (S…), read with usergroups.users.list and kept for a minute.

Roles in the configuration may name user groups. A burst of clicks on a run's buttons asks Slack once; a
change to a group in Slack counts within MEMBERS_TTL. A group that cannot be read raises UnreadableGroup,
which grants nothing: the permission check fails closed for that group.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.engine.permissions import UnreadableGroup

log = logging.getLogger(__name__)

MEMBERS_TTL = timedelta(seconds=60)
# Shorter: long enough that a burst of clicks does not retry a failing Slack each time, short enough that a
# scope just added or an ID just fixed counts almost at once.
FAILURE_TTL = timedelta(seconds=10)

SCOPE = "usergroups:read"
REMEDIES = {
    "missing_scope": f"add the {SCOPE} bot scope to the Slack app (manifest.yml lists it) and reinstall the app",
    "no_such_subteam": "check the user-group ID: this workspace has no such group, or it is disabled",
    "plan_upgrade_required": "this Slack plan has no user groups; list the members' user IDs (U…) instead",
}
UNREACHABLE = "Slack could not be asked; try again shortly, and check the bot's Slack token and network if it persists"


@dataclass(frozen=True)
class _Entry:
    read_at: datetime
    members: frozenset[str] | None = None
    error: str | None = None
    remedy: str = ""

    def fresh(self, now: datetime) -> bool:
        ttl = MEMBERS_TTL if self.error is None else FAILURE_TTL
        # A wall clock set back must not keep an entry alive for the size of the jump.
        return self.read_at <= now < self.read_at + ttl


class UserGroups:
    """The bot's view of user-group membership: GroupDirectory over slack_sdk, cached in process."""

    def __init__(self, client: AsyncWebClient, now: Callable[[], datetime]) -> None:
        self.client = client
        self.now = now
        self._entries: dict[str, _Entry] = {}
        self._reading: dict[str, asyncio.Lock] = {}

    async def members(self, group: str) -> frozenset[str]:
        """The group's user IDs; UnreadableGroup when Slack cannot say (missing scope, unknown ID, outage)."""
        entry = self._entries.get(group)
        if entry is None or not entry.fresh(self.now()):
            # One read per group at a time: concurrent clicks wait for it rather than each asking Slack.
            async with self._reading.setdefault(group, asyncio.Lock()):
                entry = self._entries.get(group)
                if entry is None or not entry.fresh(self.now()):
                    entry = await self._read(group)
                    self._entries[group] = entry
        if entry.members is None:
            raise UnreadableGroup(group, entry.error or "unknown_error", entry.remedy)
        return entry.members

    async def _read(self, group: str) -> _Entry:
        read_at = self.now()
        try:
            response = await self.client.usergroups_users_list(usergroup=group)
        except SlackApiError as exc:
            data = exc.response.data  # a 5xx from Slack's edge has no JSON body
            error = str(data.get("error") or "") if isinstance(data, dict) else ""
            error = error or f"HTTP {exc.response.status_code}"
            return self._failed(group, error, REMEDIES.get(error, UNREACHABLE), read_at)
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            return self._failed(group, type(exc).__name__, UNREACHABLE, read_at)
        users = response.get("users")
        return _Entry(read_at, members=frozenset(str(u) for u in users) if isinstance(users, list) else frozenset())

    def _failed(self, group: str, error: str, remedy: str, read_at: datetime) -> _Entry:
        log.error("cannot read a Slack user group named in roles; nobody holds a role through it until it can be "
                    "read", extra={"usergroup": group, "error": error, "remedy": remedy})
        return _Entry(read_at, error=error, remedy=remedy)
