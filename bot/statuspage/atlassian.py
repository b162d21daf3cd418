"""Atlassian Statuspage REST API v1: an incident is created once, then updated and resolved in place.

Requests (JSON, `Authorization: OAuth KEY`):
- POST  {api}pages/{page_id}/incidents        {"incident": {name, status, body, components, component_ids, …}}
- PATCH {api}pages/{page_id}/incidents/{id}   same shape; status "resolved" closes it
- GET   {api}pages/{page_id}/incidents/unresolved   only to find a create whose outcome we did not learn
`components` maps each Statuspage component ID to its status; `component_ids` lists the affected ones.

A create is not idempotent and Statuspage takes no idempotency key, so a POST that answered 5xx, timed out
or lost its connection may have made the incident all the same. Before posting again we list the
unresolved incidents and adopt one named like the draft and created since our first attempt (less
ADOPT_SKEW for clocks that disagree). If that list cannot be read we stop rather than risk a second public
incident, and say to check the page.
"""

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr

from bot.statuspage.base import StatusDraft, StatusPageError, StatusPageOutcomeUnknown, StatusRef
from bot.statuspage.http import Failed, JsonClient

PROVIDER = "atlassian"
ADOPT_SKEW = timedelta(minutes=2)
# A GET is safe to repeat, but a create holds the incident's status-page lock while it looks.
LOOKUP_ATTEMPTS = 2

log = logging.getLogger(__name__)


def _created_at(incident: dict[str, Any]) -> datetime | None:
    raw = incident.get("created_at")
    if not isinstance(raw, str):
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


class AtlassianStatuspage:
    configured = True
    name = "Atlassian Statuspage"

    def __init__(self, *, api_url: str, page_id: str, api_key: SecretStr, components: dict[str, str],
                 deliver_notifications: bool = True, attempts: int = 4, retry_base: float = 0.5,
                 max_wait: float = 30.0, timeout: float = 15.0) -> None:
        self.base = api_url.rstrip("/") + "/"
        self.page_id = page_id
        self.components = dict(components)
        self.deliver_notifications = deliver_notifications
        self._http = JsonClient(
            service=self.name, headers={"Authorization": f"OAuth {api_key.get_secret_value()}"},
            auth_hint="check STATUSPAGE_API_KEY (an API key of a user who may manage incidents on the page)",
            attempts=attempts, retry_base=retry_base, max_wait=max_wait, timeout=timeout)

    def __repr__(self) -> str:
        return f"AtlassianStatuspage(page_id={self.page_id!r})"

    async def create(self, draft: StatusDraft) -> StatusRef:
        body = self._body(draft)
        since = datetime.now(UTC) - ADOPT_SKEW
        unsure = False

        async def find_ours(failed: Failed) -> dict[str, Any] | None:
            # Once any attempt may have landed, every later one looks first: it may have landed late.
            nonlocal unsure
            unsure = unsure or failed.maybe_applied
            return await self._find_created(draft.title, since, failed) if unsure else None

        try:
            answer = await self._http.request("POST", self._incidents_url(), body, recover=find_ours)
        except StatusPageOutcomeUnknown:
            raise
        except StatusPageError as exc:
            if not unsure:
                raise
            raise StatusPageOutcomeUnknown(
                f"{exc}. An earlier attempt may still have created it: check the page for an unresolved incident "
                f"named {draft.title!r} before posting again, to avoid a duplicate") from exc
        incident_id = answer.get("id")
        if not isinstance(incident_id, str) or not incident_id:
            raise StatusPageError(f"{self.name} created an incident but did not say its id; check the page "
                                  "before posting again, to avoid a duplicate")
        return self._ref(answer, incident_id)

    async def update(self, ref: StatusRef, draft: StatusDraft) -> StatusRef:
        self._check(ref)
        answer = await self._http.request("PATCH", self._incidents_url(ref.id), self._body(draft))
        return self._ref(answer, ref.id, ref.url)

    async def resolve(self, ref: StatusRef, draft: StatusDraft) -> StatusRef:
        return await self.update(ref, draft.resolved())

    async def close(self) -> None:
        await self._http.close()

    async def _find_created(self, title: str, since: datetime, failed: Failed) -> dict[str, Any] | None:
        """The unresolved incident our earlier attempt made, if it made one."""
        try:
            listed = await self._http.send("GET", self._incidents_url("unresolved"), attempts=LOOKUP_ATTEMPTS)
        except StatusPageError as exc:
            raise StatusPageOutcomeUnknown(
                f"{self.name} may have created the incident {title!r}: our request ended with {failed.reason}, and "
                f"looking for it failed too ({exc}). Check the page for it before posting again, to avoid a "
                "duplicate") from exc
        if not isinstance(listed, list):
            raise StatusPageOutcomeUnknown(
                f"{self.name} may have created the incident {title!r}: our request ended with {failed.reason}, and "
                "its list of unresolved incidents was not a list. Check the page for it before posting again, to "
                "avoid a duplicate")
        ours = []
        for incident in listed:
            if not isinstance(incident, dict) or not isinstance(incident.get("id"), str) or not incident["id"]:
                continue
            name, created = incident.get("name"), _created_at(incident)
            if isinstance(name, str) and name.strip() == title.strip() and created is not None and created >= since:
                ours.append((created, incident))
        if not ours:
            return None
        ours.sort(key=lambda found: found[0])
        created, incident = ours[0]
        log.warning("adopted the status-page incident a create with an unclear outcome had already made", extra={
            "service": self.name, "page_id": self.page_id, "incident_id": incident["id"], "incident_name": title,
            "incident_created_at": created.isoformat(), "failed_attempt": failed.attempt, "reason": failed.reason,
            "candidates": len(ours)})
        return incident

    def _incidents_url(self, incident_id: str | None = None) -> str:
        url = f"{self.base}pages/{quote(self.page_id, safe='')}/incidents"
        return f"{url}/{quote(incident_id, safe='')}" if incident_id else url

    def _body(self, draft: StatusDraft) -> dict[str, Any]:
        unknown = [c.name for c in draft.components if c.name not in self.components]
        if unknown:
            known = ", ".join(sorted(self.components)) or "none configured"
            raise StatusPageError(f"no Statuspage component ID for {', '.join(unknown)}: add it under "
                                  f"statuspage.components in the configuration (known: {known})")
        statuses = {self.components[c.name]: c.status.value for c in draft.components}
        incident: dict[str, Any] = {
            "name": draft.title,
            "status": draft.status.value,
            "body": draft.message,
            "deliver_notifications": self.deliver_notifications,
        }
        if statuses:
            incident["components"] = statuses
            incident["component_ids"] = list(statuses)
        return {"incident": incident}

    def _check(self, ref: StatusRef) -> None:
        if ref.provider != PROVIDER:
            raise StatusPageError(f"{ref.provider} incident {ref.id} was not posted to {self.name}; "
                                  "post a new update instead")

    @staticmethod
    def _ref(answer: dict[str, Any], incident_id: str, url: str | None = None) -> StatusRef:
        shortlink = answer.get("shortlink")
        return StatusRef(provider=PROVIDER, id=incident_id, url=shortlink if isinstance(shortlink, str) else url)
