"""A fake Atlassian Statuspage v1 (aiohttp, free port) for the endpoints the bot uses, plus a generic
status-page webhook receiver.

- POST  /v1/pages/{page_id}/incidents           create (201 with the incident)
- PATCH /v1/pages/{page_id}/incidents/{id}      update / resolve
- GET   /v1/pages/{page_id}/incidents/{id}      read back
- POST  /webhook                                 the generic webhook (answers {"id", "url"})

It checks `Authorization: OAuth KEY` (401 otherwise), the page ID (404), incident and component statuses
(422), applies component statuses to the page's components, records every request (including refused and
injected ones), and can be told to answer 429 with Retry-After or a 5xx for the next N requests.
"""

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.harness.net import free_port
from tests.harness.servers import AppServer

API_KEY = "sp-test-key-0123456789"
PAGE_ID = "kctbh9vrtdwd"
COMPONENTS = {"api": "8kbf7d35c070", "checkout": "vtnh60py4yd7", "admin": "ftgks51sfs2d"}
WEBHOOK_TOKEN = "webhook-token"

INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved"}
COMPONENT_STATUSES = {"operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"}


@dataclass
class Request:
    method: str
    path: str
    authorization: str | None
    body: Any
    status: int = 0  # what the fake answered


@dataclass
class _Failure:
    status: int
    retry_after: str | None
    remaining: int


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class FakeStatuspage:
    api_key: str = API_KEY
    page_id: str = PAGE_ID
    port: int = field(default_factory=free_port)
    requests: list[Request] = field(default_factory=list)
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)
    components: dict[str, str] = field(default_factory=lambda: dict.fromkeys(COMPONENTS.values(), "operational"))
    webhook_token: str | None = None
    webhook_bodies: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._failures: list[_Failure] = []
        self._ids = (f"inc{n:09d}" for n in itertools.count(1))
        self._server = AppServer()

    @property
    def api_url(self) -> str:
        """What STATUSPAGE_API_URL points at."""
        return f"http://127.0.0.1:{self.port}/v1/"

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/pages/{page_id}/incidents", self._create)
        app.router.add_patch("/v1/pages/{page_id}/incidents/{incident_id}", self._update)
        app.router.add_get("/v1/pages/{page_id}/incidents/{incident_id}", self._read)
        app.router.add_post("/webhook", self._webhook)
        await self._server.start(app, self.port)

    async def stop(self) -> None:
        await self._server.stop()

    def fail(self, status: int = 429, retry_after: str | None = "1", times: int = 1) -> None:
        """The next `times` requests answer `status` (a 429 carries Retry-After) and change nothing."""
        self._failures.append(_Failure(status, retry_after if status == 429 else None, times))

    def answered(self, status: int) -> list[Request]:
        return [r for r in self.requests if r.status == status]

    # --- HTTP --------------------------------------------------------------------------------------

    async def _begin(self, request: web.Request, auth_scheme: str | None) -> tuple[Request, web.Response | None]:
        raw = await request.text()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        rec = Request(request.method, request.path, request.headers.get("Authorization"), body)
        self.requests.append(rec)
        if self._failures:
            failure = self._failures[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failures.pop(0)
            headers = {"Retry-After": failure.retry_after} if failure.retry_after is not None else {}
            return rec, self._answer(rec, failure.status, {"error": "injected failure"}, headers)
        if auth_scheme is not None:
            expected = f"{auth_scheme} {self.api_key if auth_scheme == 'OAuth' else self.webhook_token}"
            if rec.authorization != expected:
                return rec, self._answer(rec, 401, {"error": "Could not authenticate"})
        if request.match_info.get("page_id", self.page_id) != self.page_id:
            return rec, self._answer(rec, 404, {"error": "The requested resource could not be found."})
        return rec, None

    @staticmethod
    def _answer(rec: Request, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
                ) -> web.Response:
        rec.status = status
        return web.json_response(body, status=status, headers=headers)

    def _apply(self, incident: dict[str, Any], fields: dict[str, Any]) -> str | None:
        """Apply an `incident` object's fields; an error message when they are invalid."""
        status = fields.get("status", incident.get("status"))
        if status not in INCIDENT_STATUSES:
            return f"Status is not included in the list ({status!r})"
        statuses = fields.get("components") or {}
        ids = fields.get("component_ids") or list(statuses)
        unknown = [c for c in [*statuses, *ids] if c not in self.components]
        if unknown:
            return f"Component(s) {', '.join(unknown)} not found"
        if any(s not in COMPONENT_STATUSES for s in statuses.values()):
            return "Component status is not included in the list"
        self.components.update(statuses)
        if fields.get("name") is not None:
            incident["name"] = fields["name"]
        incident["status"] = status
        incident["updated_at"] = _now()
        if status == "resolved":
            incident["resolved_at"] = incident["updated_at"]
        incident["component_ids"] = sorted(set(incident.get("component_ids", [])) | set(ids))
        incident["components"] = [{"id": c, "status": self.components[c]} for c in incident["component_ids"]]
        incident["incident_updates"].insert(0, {
            "status": status, "body": fields.get("body", ""), "created_at": incident["updated_at"],
            "affected_components": [{"code": c, "new_status": s} for c, s in statuses.items()],
            "deliver_notifications": fields.get("deliver_notifications", True),
        })
        return None

    async def _create(self, request: web.Request) -> web.Response:
        rec, refused = await self._begin(request, "OAuth")
        if refused:
            return refused
        fields = rec.body.get("incident") if isinstance(rec.body, dict) else None
        if not isinstance(fields, dict) or not fields.get("name"):
            return self._answer(rec, 422, {"error": "Name can't be blank"})
        incident_id = next(self._ids)
        incident: dict[str, Any] = {"id": incident_id, "page_id": self.page_id, "created_at": _now(),
                                    "shortlink": f"https://stspg.io/{incident_id}", "incident_updates": []}
        problem = self._apply(incident, {"status": "investigating", **fields})
        if problem:
            return self._answer(rec, 422, {"error": problem})
        self.incidents[incident_id] = incident
        return self._answer(rec, 201, incident)

    async def _update(self, request: web.Request) -> web.Response:
        rec, refused = await self._begin(request, "OAuth")
        if refused:
            return refused
        incident = self.incidents.get(request.match_info["incident_id"])
        if incident is None:
            return self._answer(rec, 404, {"error": "The requested resource could not be found."})
        fields = rec.body.get("incident") if isinstance(rec.body, dict) else None
        if not isinstance(fields, dict):
            return self._answer(rec, 400, {"error": "incident is missing"})
        problem = self._apply(incident, fields)
        if problem:
            return self._answer(rec, 422, {"error": problem})
        return self._answer(rec, 200, incident)

    async def _read(self, request: web.Request) -> web.Response:
        rec, refused = await self._begin(request, "OAuth")
        if refused:
            return refused
        incident = self.incidents.get(request.match_info["incident_id"])
        if incident is None:
            return self._answer(rec, 404, {"error": "The requested resource could not be found."})
        return self._answer(rec, 200, incident)

    async def _webhook(self, request: web.Request) -> web.Response:
        rec, refused = await self._begin(request, "Bearer" if self.webhook_token else None)
        if refused:
            return refused
        if not isinstance(rec.body, dict) or rec.body.get("action") not in ("create", "update", "resolve"):
            return self._answer(rec, 400, {"error": "expected {action, ref, draft}"})
        self.webhook_bodies.append(rec.body)
        if rec.body["action"] == "create":
            ident = f"hook-{len(self.webhook_bodies)}"
            return self._answer(rec, 200, {"id": ident, "url": f"https://status.example/{ident}"})
        return self._answer(rec, 200, {"ok": True})
