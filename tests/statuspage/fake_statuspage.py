"""A fake Atlassian Statuspage v1 (aiohttp, free port) for the endpoints the bot uses, plus a generic
status-page webhook receiver.

- POST  /v1/pages/{page_id}/incidents              create (201 with the incident)
- PATCH /v1/pages/{page_id}/incidents/{id}         update / resolve
- GET   /v1/pages/{page_id}/incidents/unresolved   the incidents not yet resolved, newest first
- GET   /v1/pages/{page_id}/incidents/{id}         read back
- POST  /webhook                                    the generic webhook (answers {"id", "url"}; one id per
                                                    Idempotency-Key, as a de-duplicating receiver would)

It checks `Authorization: OAuth KEY` (401 otherwise), the page ID (404), incident and component statuses
(422), applies component statuses to the page's components, records every request (including refused and
injected ones), and can be told to fail the next N requests (of one method, if given): answer 429 with
Retry-After or a 5xx, drop the connection, or never answer — either instead of doing the work, or, the
ambiguous case a client cannot tell apart, after doing it.
"""

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

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
    status: int = 0  # what the fake answered; 0: no answer (the connection was dropped, or it hung)
    idempotency_key: str | None = None


@dataclass
class _Failure:
    kind: Literal["answer", "drop", "hang"]
    status: int
    retry_after: str | None
    remaining: int
    method: str | None
    after_applying: bool


def _timestamp(when: datetime | None = None) -> str:
    """As Statuspage writes them: UTC, milliseconds, a Z."""
    return (when or datetime.now(UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
        self._pending: dict[int, _Failure] = {}  # id(Request) → the failure it answers with once applied
        self._ids = (f"inc{n:09d}" for n in itertools.count(1))
        self._released = asyncio.Event()  # lets hung requests finish when the fake stops
        self.webhook_incidents: dict[str, str] = {}  # idempotency key → the id it was given
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
        # Before the {incident_id} route, which would otherwise take "unresolved" for an id.
        app.router.add_get("/v1/pages/{page_id}/incidents/unresolved", self._unresolved)
        app.router.add_get("/v1/pages/{page_id}/incidents/{incident_id}", self._read)
        app.router.add_post("/webhook", self._webhook)
        self._released.clear()
        await self._server.start(app, self.port)

    async def stop(self) -> None:
        self._released.set()
        await self._server.stop()

    def fail(self, status: int = 429, retry_after: str | None = "1", times: int = 1, *, method: str | None = None,
             after_applying: bool = False) -> None:
        """The next `times` requests (of `method`, if given) answer `status` (a 429 carries Retry-After):
        instead of doing anything, or `after_applying` the request as usual."""
        self._failures.append(_Failure("answer", status, retry_after if status == 429 else None, times, method,
                                       after_applying))

    def drop(self, times: int = 1, *, method: str | None = None, after_applying: bool = True) -> None:
        """The next `times` requests (of `method`, if given) get no answer: the connection is cut."""
        self._failures.append(_Failure("drop", 0, None, times, method, after_applying))

    def hang(self, times: int = 1, *, method: str | None = None, after_applying: bool = True) -> None:
        """The next `times` requests (of `method`, if given) get no answer until the fake stops."""
        self._failures.append(_Failure("hang", 0, None, times, method, after_applying))

    def seed(self, name: str, created_at: datetime, status: str = "investigating") -> str:
        """An incident already on the page (someone else's, or an old one of ours); its id."""
        incident_id = next(self._ids)
        self.incidents[incident_id] = {
            "id": incident_id, "page_id": self.page_id, "name": name, "status": status,
            "created_at": _timestamp(created_at), "updated_at": _timestamp(created_at),
            "shortlink": f"https://stspg.io/{incident_id}", "component_ids": [], "components": [],
            "incident_updates": [{"status": status, "body": "Seeded.", "created_at": _timestamp(created_at)}]}
        return incident_id

    def answered(self, status: int) -> list[Request]:
        return [r for r in self.requests if r.status == status]

    def calls(self) -> list[tuple[str, str, int]]:
        """(method, the path after the page, status) of every request: ("POST", "incidents", 201)."""
        prefix = f"/v1/pages/{self.page_id}/"
        return [(r.method, r.path.removeprefix(prefix), r.status) for r in self.requests]

    # --- HTTP --------------------------------------------------------------------------------------

    async def _begin(self, request: web.Request, auth_scheme: str | None) -> tuple[Request, web.Response | None]:
        raw = await request.text()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        rec = Request(request.method, request.path, request.headers.get("Authorization"), body,
                      idempotency_key=request.headers.get("Idempotency-Key"))
        self.requests.append(rec)
        failure = self._next_failure(request.method)
        if failure is not None and failure.after_applying:
            self._pending[id(rec)] = failure
        elif failure is not None:
            return rec, await self._fail(request, rec, failure)
        if auth_scheme is not None:
            expected = f"{auth_scheme} {self.api_key if auth_scheme == 'OAuth' else self.webhook_token}"
            if rec.authorization != expected:
                return rec, self._answer(rec, 401, {"error": "Could not authenticate"})
        if request.match_info.get("page_id", self.page_id) != self.page_id:
            return rec, self._answer(rec, 404, {"error": "The requested resource could not be found."})
        return rec, None

    def _next_failure(self, method: str) -> _Failure | None:
        for failure in self._failures:
            if failure.method in (None, method):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    async def _fail(self, request: web.Request, rec: Request, failure: _Failure) -> web.Response:
        if failure.kind == "answer":
            headers = {"Retry-After": failure.retry_after} if failure.retry_after is not None else {}
            rec.status = failure.status
            return web.json_response({"error": "injected failure"}, status=failure.status, headers=headers)
        if failure.kind == "hang":
            await self._released.wait()
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=499)  # never reaches the client: its connection is gone

    def _answer(self, rec: Request, status: int, body: Any, headers: dict[str, str] | None = None
                ) -> web.Response:
        rec.status = status
        return web.json_response(body, status=status, headers=headers)

    async def _done(self, request: web.Request, rec: Request, status: int, body: Any) -> web.Response:
        """The answer to a request that did its work, unless a failure was to follow it."""
        failure = self._pending.pop(id(rec), None)
        if failure is not None:
            return await self._fail(request, rec, failure)
        return self._answer(rec, status, body)

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
        incident["updated_at"] = _timestamp()
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
        incident: dict[str, Any] = {"id": incident_id, "page_id": self.page_id, "created_at": _timestamp(),
                                    "shortlink": f"https://stspg.io/{incident_id}", "incident_updates": []}
        problem = self._apply(incident, {"status": "investigating", **fields})
        if problem:
            return self._answer(rec, 422, {"error": problem})
        self.incidents[incident_id] = incident
        return await self._done(request, rec, 201, incident)

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
        return await self._done(request, rec, 200, incident)

    async def _read(self, request: web.Request) -> web.Response:
        rec, refused = await self._begin(request, "OAuth")
        if refused:
            return refused
        incident = self.incidents.get(request.match_info["incident_id"])
        if incident is None:
            return self._answer(rec, 404, {"error": "The requested resource could not be found."})
        return await self._done(request, rec, 200, incident)

    async def _unresolved(self, request: web.Request) -> web.Response:
        rec, refused = await self._begin(request, "OAuth")
        if refused:
            return refused
        open_ = [i for i in self.incidents.values() if i["status"] != "resolved"]
        return await self._done(request, rec, 200, sorted(open_, key=lambda i: i["created_at"], reverse=True))

    async def _webhook(self, request: web.Request) -> web.Response:
        rec, refused = await self._begin(request, "Bearer" if self.webhook_token else None)
        if refused:
            return refused
        if not isinstance(rec.body, dict) or rec.body.get("action") not in ("create", "update", "resolve"):
            return self._answer(rec, 400, {"error": "expected {action, ref, draft}"})
        self.webhook_bodies.append(rec.body)
        if rec.body["action"] == "create":
            key = rec.idempotency_key or f"no-key-{len(self.webhook_bodies)}"
            ident = self.webhook_incidents.setdefault(key, f"hook-{len(self.webhook_incidents) + 1}")
            return await self._done(request, rec, 200, {"id": ident, "url": f"https://status.example/{ident}"})
        return await self._done(request, rec, 200, {"ok": True})
