"""JSON over HTTP with the retries a status page needs: 429 honours Retry-After, 5xx and network errors
back off, anything else is a clear error at once. Headers (the API key) are never logged or echoed.

Retrying is harmless only when the failed attempt did nothing or doing it twice does no harm. A 5xx, a
timeout or a connection dropped after sending leave that unknown, so a caller whose request is not
idempotent passes `recover`: it is awaited after every retryable failure (after the back-off, just before
the next attempt, and once more before giving up), learns whether the server may have acted
(`Failed.maybe_applied`), and returns the answer to use instead of going on (say, the incident it found),
None to go on, or raises.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from bot.statuspage.base import StatusPageAuthError, StatusPageError, StatusPageUnavailable

log = logging.getLogger(__name__)

# These fail before a byte of the request is sent: the server cannot have acted on it.
_NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


@dataclass(frozen=True)
class Failed:
    """An attempt that failed in a way worth retrying, as `recover` sees it."""

    attempt: int
    reason: str  # "HTTP 503", "ServerDisconnectedError: Server disconnected"
    status: int | None  # None: no answer came back
    maybe_applied: bool  # a 5xx or a lost answer; a 429 or a refused connection did nothing


Recover = Callable[[Failed], Awaitable[dict[str, Any] | None]]


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds (it may be a number or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _problem(body: Any, text: str) -> str:
    if isinstance(body, dict):
        for field in ("error", "message", "errors"):
            if body.get(field):
                found = body[field]
                return "; ".join(map(str, found)) if isinstance(found, list) else str(found)
    return text.strip()[:300] or "no details"


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class JsonClient:
    def __init__(self, *, service: str, headers: dict[str, str], auth_hint: str, attempts: int = 4,
                 retry_base: float = 0.5, max_wait: float = 30.0, timeout: float = 15.0) -> None:
        self.service = service  # "Atlassian Statuspage", "the status-page webhook"
        self._headers = {"Accept": "application/json", "User-Agent": "atl-bot", **headers}
        self.auth_hint = auth_hint
        self.attempts = attempts
        self.retry_base = retry_base
        self.max_wait = max_wait
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:  # the headers carry the key
        return f"JsonClient({self.service!r})"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self.timeout)
        return self._session

    async def request(self, method: str, url: str, body: dict[str, Any] | None = None, *,
                      headers: Mapping[str, str] | None = None, attempts: int | None = None,
                      recover: Recover | None = None) -> dict[str, Any]:
        """Send `body` as JSON; the JSON object answered (an empty dict when there is none)."""
        answer = await self.send(method, url, body, headers=headers, attempts=attempts, recover=recover)
        return answer if isinstance(answer, dict) else {}

    async def send(self, method: str, url: str, body: dict[str, Any] | None = None, *,
                   headers: Mapping[str, str] | None = None, attempts: int | None = None,
                   recover: Recover | None = None) -> Any:
        """Like `request`, but the answer as parsed (a list, say), None when there is none."""
        tries = attempts or self.attempts
        for attempt in range(1, tries + 1):
            cause: BaseException | None = None
            retry_after: float | None = None
            try:
                status, parsed, text, retry_after = await self._once(method, url, body, headers)
            except (aiohttp.ClientError, TimeoutError) as exc:
                failed = Failed(attempt, _reason(exc), None, maybe_applied=not isinstance(exc, _NOT_SENT))
                give_up = (f"{self.service} is unreachable after {tries} attempts ({failed.reason}); "
                           "try again later") if attempt == tries else None
                cause = exc
            else:
                if 200 <= status < 300:
                    return parsed
                problem = _problem(parsed, text)
                if status in (401, 403):
                    raise StatusPageAuthError(f"{self.service} refused our credentials ({status}: {problem}); "
                                              f"{self.auth_hint}")
                if status != 429 and status < 500:
                    raise StatusPageError(f"{self.service} rejected the request ({status}: {problem})")
                failed = Failed(attempt, f"HTTP {status}", status, maybe_applied=status != 429)
                give_up = None
                if retry_after is not None and retry_after > self.max_wait:
                    give_up = f"{self.service} is rate limiting us ({status}); try again in {retry_after:.0f} s"
                elif attempt == tries:
                    give_up = f"{self.service} answered {status} ({problem}) {tries} times; try again later"
            if give_up is None:
                await self._pause(attempt, retry_after, method, url, failed.reason)
            if recover is not None and (instead := await recover(failed)) is not None:
                return instead
            if give_up is not None:
                raise StatusPageUnavailable(give_up) from cause
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _once(self, method: str, url: str, body: dict[str, Any] | None,
                    headers: Mapping[str, str] | None) -> tuple[int, Any, str, float | None]:
        async with self._client().request(method, url, json=body, headers=headers) as response:
            text = await response.text()
            parsed: Any = None
            if text and "json" in response.content_type:
                try:
                    parsed = await response.json(content_type=None)
                except ValueError:
                    parsed = None
            return response.status, parsed, text, retry_after_seconds(response.headers.get("Retry-After"))

    async def _pause(self, attempt: int, retry_after: float | None, method: str, url: str, reason: str) -> None:
        wait = retry_after if retry_after is not None else min(self.retry_base * 2 ** (attempt - 1), self.max_wait)
        log.warning("status page request failed, retrying", extra={
            "service": self.service, "method": method, "url": url, "reason": reason, "retry_in_s": wait})
        await asyncio.sleep(wait)
