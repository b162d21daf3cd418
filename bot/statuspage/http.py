"""JSON over HTTP with the retries a status page needs: 429 honours Retry-After, 5xx and network errors
back off, anything else is a clear error at once. Headers (the API key) are never logged or echoed."""

import asyncio
import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from bot.statuspage.base import StatusPageAuthError, StatusPageError, StatusPageUnavailable

log = logging.getLogger(__name__)


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

    async def request(self, method: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send `body` as JSON; the JSON answer (an empty dict when there is none)."""
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            try:
                async with self._client().request(method, url, json=body) as response:
                    text = await response.text()
                    status = response.status
                    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                    parsed: Any = None
                    if text and "json" in response.content_type:
                        try:
                            parsed = await response.json(content_type=None)
                        except ValueError:
                            parsed = None
            except (aiohttp.ClientError, TimeoutError) as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if last:
                    raise StatusPageUnavailable(
                        f"{self.service} is unreachable after {self.attempts} attempts ({reason}); "
                        "try again later") from exc
                await self._pause(attempt, None, method, url, reason)
                continue
            if 200 <= status < 300:
                return parsed if isinstance(parsed, dict) else {}
            problem = _problem(parsed, text)
            if status in (401, 403):
                raise StatusPageAuthError(f"{self.service} refused our credentials ({status}: {problem}); "
                                          f"{self.auth_hint}")
            if status == 429 or status >= 500:
                if retry_after is not None and retry_after > self.max_wait:
                    raise StatusPageUnavailable(f"{self.service} is rate limiting us ({status}); "
                                                f"try again in {retry_after:.0f} s")
                if last:
                    raise StatusPageUnavailable(f"{self.service} answered {status} ({problem}) "
                                                f"{self.attempts} times; try again later")
                await self._pause(attempt, retry_after, method, url, f"HTTP {status}")
                continue
            raise StatusPageError(f"{self.service} rejected the request ({status}: {problem})")
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _pause(self, attempt: int, retry_after: float | None, method: str, url: str, reason: str) -> None:
        wait = retry_after if retry_after is not None else min(self.retry_base * 2 ** (attempt - 1), self.max_wait)
        log.warning("status page request failed, retrying", extra={
            "service": self.service, "method": method, "url": url, "reason": reason, "retry_in_s": wait})
        await asyncio.sleep(wait)
