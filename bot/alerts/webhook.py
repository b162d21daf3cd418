"""POST /webhooks/alertmanager: authenticate, bound, validate, store; answer 2xx only after the commit.

Answers: 200 stored (or duplicate) · 400 malformed JSON or not a v4 payload · 401 bad or missing token ·
413 over 1 MiB · 503 not configured, or storage unavailable (Alertmanager retries 5xx only).
A rejected request never reaches Slack: nothing is stored, so nothing is processed.
"""

import json
import logging
from collections.abc import Awaitable, Callable

import psycopg
import psycopg_pool
from aiohttp import web
from prometheus_client import Counter
from pydantic import SecretStr, ValidationError

from bot.alerts.auth import authorized
from bot.alerts.intake import NotificationIntake, Unstorable
from bot.alerts.payload import Notification, describe_error, digest_of
from bot.metrics import REGISTRY
from bot.store.alerts import NewNotification
from bot.store.db import Store

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
PATH = "/webhooks/alertmanager"

WEBHOOKS = Counter("atl_alertmanager_webhooks", "Alertmanager webhook deliveries by outcome", ["outcome"],
                   registry=REGISTRY)


_OUTCOMES: dict[str, Counter] = {}


def _answer(code: int, outcome: str, **body: object) -> web.Response:
    counter = _OUTCOMES.get(outcome)
    if counter is None:  # resolved once per outcome: labels() is not free at storm rates
        counter = _OUTCOMES[outcome] = WEBHOOKS.labels(outcome=outcome)
    counter.inc()
    if code >= 400:
        # Operators look for these: a wrong token or URL in alertmanager.yml shows up here first.
        log.warning("alertmanager webhook refused", extra={"status": code, "outcome": outcome,
                                                           "reason": body.get("error")})
    headers = {"WWW-Authenticate": 'Bearer realm="atl-bot"'} if code == 401 else None
    return web.json_response(body, status=code, headers=headers)


def make_handler(store: Store, token: SecretStr | None, basic_users: dict[str, SecretStr],
                 stored: Callable[[], None]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """`stored` is called after new notifications committed (wakes the processor)."""
    intake = NotificationIntake(store, stored)

    async def receive(request: web.Request) -> web.Response:
        if token is None and not basic_users:
            return _answer(503, "not_configured", error="not configured: set ALERTMANAGER_TOKEN to accept alerts")
        if not authorized(request.headers.get("Authorization"), token, basic_users):
            return _answer(401, "unauthorized", error="missing or wrong Authorization (expected Bearer token)")
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _answer(413, "too_large", error=f"payload over {MAX_BODY} bytes")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _answer(413, "too_large", error=f"payload over {MAX_BODY} bytes")
        if len(body) > MAX_BODY:
            return _answer(413, "too_large", error=f"payload over {MAX_BODY} bytes")
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return _answer(400, "malformed", error=f"body is not JSON: {exc}")
        if not isinstance(document, dict):
            return _answer(400, "malformed", error="expected a JSON object (Alertmanager webhook payload)")
        try:
            note = Notification.model_validate(document)
        except ValidationError as exc:
            return _answer(400, "invalid", error=describe_error(exc))
        digest = digest_of(document)
        row = NewNotification(note.receiver, note.group_key, note.status.value, digest, body.decode())
        try:
            # Stored as received (it validated): what Alertmanager said is kept word for word.
            row_id = await intake.store(row)
        except Unstorable as exc:
            # Retrying cannot help (Alertmanager would resend it forever): say why, as for invalid JSON.
            log.error("alert notification refused by the database", extra={"error": str(exc),
                                                                            "group_key": note.group_key})
            return _answer(400, "unstorable", error=f"{exc}; fix the alert's labels or annotations")
        except (psycopg.Error, psycopg_pool.PoolTimeout, OSError) as exc:
            log.error("alert notification not stored", extra={"error": f"{type(exc).__name__}: {exc}",
                                                              "group_key": note.group_key})
            return _answer(503, "storage_unavailable", error="storage unavailable, retry later")
        # Per delivery at debug only: a storm brings thousands, and each is in alert_notifications anyway.
        if row_id is None:
            log.debug("duplicate alert notification", extra={"group_key": note.group_key, "digest": digest})
            return _answer(200, "duplicate", status="duplicate", digest=digest)
        log.debug("alert notification stored", extra={"notification_id": row_id, "group_key": note.group_key,
                                                      "status": note.status.value, "alerts": len(note.alerts)})
        return _answer(200, "stored", status="stored", id=row_id, digest=digest)

    return receive
