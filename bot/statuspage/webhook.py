"""A generic status page: every draft is POSTed as JSON to a webhook the operator runs.

Body: {"action": "create" | "update" | "resolve", "ref": {"provider", "id", "url"} | null, "draft": {…},
"idempotency_key": "…"}. The webhook may answer {"id": …, "url": …} to name its incident; otherwise we
name it after the idempotency key.

We retry a request that answered 5xx, timed out or lost its connection, and such a request may have been
carried out all the same. So every request carries an idempotency key, in the body and in the
`Idempotency-Key` header: the same on every retry of one create, update or resolve, new for the next. A
receiver that has already carried out a key should answer as it did the first time (for a create, with
the same id) and do nothing more; that is what keeps a retried create from making a second public incident.
"""

import uuid
from typing import Any, Literal

from pydantic import SecretStr

from bot.statuspage.base import StatusDraft, StatusPageError, StatusRef
from bot.statuspage.http import JsonClient

PROVIDER = "webhook"
Action = Literal["create", "update", "resolve"]


class WebhookStatusPage:
    configured = True
    name = "the status-page webhook"

    def __init__(self, *, url: str, token: SecretStr | None = None, attempts: int = 4, retry_base: float = 0.5,
                 max_wait: float = 30.0, timeout: float = 15.0) -> None:
        self.url = url
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
        self._http = JsonClient(service=self.name, headers=headers,
                                auth_hint="check STATUSPAGE_API_KEY, sent to the webhook as a bearer token",
                                attempts=attempts, retry_base=retry_base, max_wait=max_wait, timeout=timeout)

    def __repr__(self) -> str:
        return f"WebhookStatusPage(url={self.url!r})"

    async def create(self, draft: StatusDraft) -> StatusRef:
        key = uuid.uuid4().hex
        answer = await self._post("create", None, draft, key)
        given = answer.get("id")
        url = answer.get("url")
        return StatusRef(provider=PROVIDER, id=str(given) if given else key, url=url if isinstance(url, str) else None)

    async def update(self, ref: StatusRef, draft: StatusDraft) -> StatusRef:
        await self._post("update", ref, draft, uuid.uuid4().hex)
        return ref

    async def resolve(self, ref: StatusRef, draft: StatusDraft) -> StatusRef:
        await self._post("resolve", ref, draft.resolved(), uuid.uuid4().hex)
        return ref

    async def close(self) -> None:
        await self._http.close()

    async def _post(self, action: Action, ref: StatusRef | None, draft: StatusDraft, key: str) -> dict[str, Any]:
        if ref is not None and ref.provider != PROVIDER:
            raise StatusPageError(f"{ref.provider} incident {ref.id} was not posted to {self.name}; "
                                  "post a new update instead")
        body = {"action": action, "ref": ref.model_dump(mode="json") if ref else None,
                "draft": draft.model_dump(mode="json"), "idempotency_key": key}
        return await self._http.request("POST", self.url, body, headers={"Idempotency-Key": key})
