"""Atlassian Statuspage REST API v1: an incident is created once, then updated and resolved in place.

Requests (JSON, `Authorization: OAuth KEY`):
- POST  {api}pages/{page_id}/incidents        {"incident": {name, status, body, components, component_ids, …}}
- PATCH {api}pages/{page_id}/incidents/{id}   same shape; status "resolved" closes it
`components` maps each Statuspage component ID to its status; `component_ids` lists the affected ones.
"""

from typing import Any
from urllib.parse import quote

from pydantic import SecretStr

from bot.statuspage.base import StatusDraft, StatusPageError, StatusRef
from bot.statuspage.http import JsonClient

PROVIDER = "atlassian"


class AtlassianStatuspage:
    configured = True
    name = "Atlassian Statuspage"

    def __init__(self, *, api_url: str, page_id: str, api_key: SecretStr, components: dict[str, str],
                 deliver_notifications: bool = True, attempts: int = 4, retry_base: float = 0.5,
                 max_wait: float = 30.0) -> None:
        self.base = api_url.rstrip("/") + "/"
        self.page_id = page_id
        self.components = dict(components)
        self.deliver_notifications = deliver_notifications
        self._http = JsonClient(
            service=self.name, headers={"Authorization": f"OAuth {api_key.get_secret_value()}"},
            auth_hint="check STATUSPAGE_API_KEY (an API key of a user who may manage incidents on the page)",
            attempts=attempts, retry_base=retry_base, max_wait=max_wait)

    def __repr__(self) -> str:
        return f"AtlassianStatuspage(page_id={self.page_id!r})"

    async def create(self, draft: StatusDraft) -> StatusRef:
        answer = await self._http.request("POST", self._incidents_url(), self._body(draft))
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
