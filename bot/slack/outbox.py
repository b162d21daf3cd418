"""The durable Slack outbox: queue Web API calls in the caller's transaction, send them in the background.

- Lanes: rows with the same `ordering_key` are sent one at a time in id order, at most one call per lane
  per `min_interval` (one thread ≤ 1 call/s); rows without a key are independent.
- Coalescing: `Coalesce.REPLACE` supersedes pending rows with the same `coalesce_key` (a header edit makes
  older edits pointless); `Coalesce.APPEND` merges blocks and text into the pending row with that key
  (thread replies during a storm become one reply).
- Refs: an argument may be taken from an earlier row's result when it is sent, e.g. `thread_ts` from the
  `ts` of the header post that was queued in the same transaction.
- Render at send time: a row may name a renderer that completes its args just before the call, so a
  header edit shows the state of the moment Slack gets it and a storm renders once per call, not per change.
- Rate limits: the client's retry handlers sleep for Retry-After; when they give up the row is retried
  after Retry-After. Other Slack errors are final (`failed`, with the error kept in `last_error`).
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiohttp
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Runtime
from bot.store import outbox as rows
from bot.store.db import Store
from bot.store.outbox import Tx
from bot.worker import BackgroundLoop

log = logging.getLogger(__name__)

TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
MAX_BLOCKS = 50  # Slack's limit per message
MAX_TEXT = 3000  # keep merged fallback text readable in notifications


class Coalesce(StrEnum):
    REPLACE = "replace"
    APPEND = "append"


@dataclass(frozen=True)
class Ref:
    """Use field `field` of the result of outbox row `row` (sent earlier in the same lane)."""

    row: int
    field: str


@dataclass(frozen=True)
class Sent:
    id: int
    method: str
    args: dict[str, Any]
    result: dict[str, Any]
    tag: str | None


SentHook = Callable[[Sent], Awaitable[None]]
Renderer = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class _Final(Exception):
    """This row can never be sent."""


class _RetryLater(Exception):
    def __init__(self, delay_s: float, reason: str) -> None:
        super().__init__(reason)
        self.delay_s = delay_s


class Outbox:
    def __init__(self, store: Store, client: AsyncWebClient, *, min_interval: float = 1.0, concurrency: int = 8,
                 poll_interval: float = 1.0, lease_s: float = 120.0, keep_days: int = 30) -> None:
        self.store = store
        self.client = client
        self.min_interval = min_interval
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.lease_s = lease_s
        self.keep_days = keep_days
        self._hooks: list[tuple[str, SentHook]] = []
        self._renderers: dict[str, Renderer] = {}
        self._worker = BackgroundLoop(self._pass, name="slack-outbox", grace=5,
                                      after_failure=lambda: max(0.01, self.poll_interval),
                                      failure_message="slack outbox pass failed", log=log)
        self._last_prune = 0.0

    # -- queueing (inside the caller's transaction) -------------------------------------------------

    async def enqueue(self, tx: Tx, method: str, args: dict[str, Any], *, ordering_key: str | None = None,
                      coalesce_key: str | None = None, coalesce: Coalesce | None = None,
                      refs: dict[str, Ref] | None = None, tag: str | None = None,
                      render: str | None = None) -> int:
        """Queue one Web API call; returns the row id (usable in a later Ref). With `render`, the named
        renderer turns `args` into the call's arguments when it is sent."""
        stored_refs = {name: [ref.row, ref.field] for name, ref in (refs or {}).items()}
        return await rows.insert(tx, method, args, ordering_key=ordering_key, coalesce_key=coalesce_key,
                                 refs=stored_refs, tag=tag, render=render,
                                 mode=coalesce.value if coalesce is not None else None,
                                 max_blocks=MAX_BLOCKS, max_text=MAX_TEXT)

    def on_sent(self, tag_prefix: str, hook: SentHook) -> None:
        """Run `hook` after a row whose tag starts with `tag_prefix` was accepted by Slack."""
        self._hooks.append((tag_prefix, hook))

    def renderer(self, name: str, render: Renderer) -> None:
        """Register what completes the args of rows queued with `render=name`."""
        self._renderers[name] = render

    def wake(self) -> None:
        """New rows were committed: look now rather than at the next poll."""
        self._worker.wake()

    # -- the worker ---------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._worker.start()

    async def stop(self) -> None:
        await self._worker.stop()

    async def pending(self) -> int:
        return await rows.pending_count(self.store)

    async def drain(self) -> None:
        """Wait until nothing is pending (tests, benchmarks); bound it with asyncio.timeout."""
        while await self.pending():
            self.wake()
            await asyncio.sleep(0.05)

    async def _pass(self) -> float:
        handled, wait = await self.run_once()
        await self._maybe_prune()
        # Sent something: look again at once, more may be due; else sleep until the next row is due.
        return 0 if handled else max(0.01, wait)

    async def run_once(self) -> tuple[int, float]:
        """Send every lane head that is due; returns (rows handled, seconds until the next is due)."""
        heads, now = await rows.heads(self.store, self.min_interval, limit=self.concurrency * 4)
        due = [h for h in heads if h.due_at <= now][: self.concurrency]
        later = [(h.due_at - now).total_seconds() for h in heads if h.due_at > now]
        wait = min([*later, self.poll_interval])
        if not due:
            return 0, wait
        results = await asyncio.gather(*(self._claim_and_send(h.id) for h in due))
        return sum(results), wait

    async def _claim_and_send(self, row_id: int) -> int:
        claimed = await rows.claim(self.store, row_id, self.lease_s)
        if claimed is None:
            return 0
        try:
            args = await self._resolve(claimed)
            if claimed.render is not None:
                args = await self._render(claimed, args)
            response = await self.client.api_call(claimed.method, json=args)
        except _Final as final:
            log.error("queued slack call cannot be sent", extra={"outbox_id": claimed.id, "error": str(final)})
            await rows.mark_failed(self.store, claimed.id, str(final))
            return 1
        except _RetryLater as later:
            await rows.retry_later(self.store, claimed.id, later.delay_s, str(later))
            return 1
        except SlackApiError as exc:
            await self._slack_error(claimed, exc)
            return 1
        except asyncio.CancelledError:
            # Shutting down mid-call: hand the row back now rather than when the lease runs out.
            await asyncio.shield(rows.retry_later(self.store, claimed.id, 0, "interrupted by shutdown"))
            raise
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            delay = min(300.0, 2.0 ** min(claimed.attempts, 8))
            log.warning("slack unreachable, will retry", extra={"outbox_id": claimed.id, "retry_in_s": delay,
                                                                 "error": repr(exc)})
            await rows.retry_later(self.store, claimed.id, delay, f"{type(exc).__name__}: {exc}")
            return 1
        data = response.data if isinstance(response.data, dict) else {}
        # Keep what later rows may reference (channel, ts, …), not whole echoed messages.
        result = {k: v for k, v in data.items() if isinstance(v, str | int | float | bool)}
        await rows.mark_sent(self.store, claimed.id, result)
        await self._after_sent(Sent(claimed.id, claimed.method, args, result, claimed.tag))
        return 1

    async def _render(self, claimed: rows.Claimed, args: dict[str, Any]) -> dict[str, Any]:
        render = self._renderers.get(claimed.render or "")
        if render is None:
            raise _Final(f"no renderer {claimed.render!r} in this process")
        try:
            return await render(args)
        except Exception as exc:  # e.g. the database is away for a moment: the row waits, it is not lost
            log.warning("outbox renderer failed, will retry", extra={"outbox_id": claimed.id, "error": repr(exc)})
            raise _RetryLater(min(60.0, 2.0 ** min(claimed.attempts, 6)), f"renderer failed: {exc!r}") from exc

    async def _resolve(self, claimed: rows.Claimed) -> dict[str, Any]:
        args = dict(claimed.args)
        if not claimed.refs:
            return args
        states = await rows.ref_states(self.store, [int(r[0]) for r in claimed.refs.values()])
        for name, (ref_id, field) in claimed.refs.items():
            state = states.get(int(ref_id))
            if state is None or state.state in ("failed", "superseded"):
                # Nothing to thread under or edit: this row can never be sent.
                raise _Final(f"referenced outbox row {ref_id} was not sent")
            if state.state != "sent" or not state.result or field not in state.result:
                raise _RetryLater(self.min_interval, f"waiting for outbox row {ref_id}")
            args[name] = state.result[field]
        return args

    async def _slack_error(self, claimed: rows.Claimed, exc: SlackApiError) -> None:
        response = exc.response
        status = int(getattr(response, "status_code", 200) or 200)
        error = str(response.get("error", "")) if hasattr(response, "get") else ""
        if status == 429 or status >= 500 or error in TRANSIENT_ERRORS:
            headers = getattr(response, "headers", {}) or {}
            retry_after = headers.get("Retry-After") or headers.get("retry-after")
            delay = float(retry_after) if retry_after else min(300.0, 2.0 ** min(claimed.attempts, 8))
            log.warning("slack rate limited or failing, will retry",
                        extra={"outbox_id": claimed.id, "method": claimed.method, "status": status,
                               "error": error, "retry_in_s": delay})
            await rows.retry_later(self.store, claimed.id, delay, f"{status} {error}".strip())
            return
        log.error("slack refused a queued call", extra={"outbox_id": claimed.id, "method": claimed.method,
                                                        "error": error or str(exc)})
        await rows.mark_failed(self.store, claimed.id, error or str(exc))

    async def _after_sent(self, sent: Sent) -> None:
        if sent.tag is None:
            return
        for prefix, hook in self._hooks:
            if sent.tag.startswith(prefix):
                try:
                    await hook(sent)
                except Exception:  # a hook's failure must not resend the message
                    log.exception("outbox hook failed", extra={"outbox_id": sent.id, "tag": sent.tag})

    async def _maybe_prune(self) -> None:
        if time.monotonic() - self._last_prune > 3600:
            self._last_prune = time.monotonic()
            await rows.prune(self.store, self.keep_days)



SERVICE = "slack_outbox"


def outbox_service(runtime: Runtime, app: web.Application) -> Outbox:
    """The process's one outbox; the first capability asking for it ties its worker to the web app."""
    existing: Outbox | None = runtime.services.get(SERVICE)
    if existing is not None:
        return existing
    outbox = runtime.services[SERVICE] = Outbox(runtime.store, runtime.slack)

    async def running(_: web.Application) -> AsyncIterator[None]:
        await outbox.start()
        yield
        await outbox.stop()

    # cleanup_ctx unwinds in reverse: capabilities registered later (which queue messages) stop first.
    app.cleanup_ctx.append(running)
    return outbox
