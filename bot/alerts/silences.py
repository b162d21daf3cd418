"""Alertmanager's v2 API, the one call the bot makes: create a silence for an alert group."""

from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp


class SilenceError(Exception):
    """Alertmanager did not create the silence; the message says why, for the person who clicked."""


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime


async def create_silence(base_url: str, matchers: dict[str, str], *, now: datetime, duration: timedelta,
                         created_by: str, comment: str, timeout_s: float = 10.0) -> Silence:
    if not matchers:
        raise SilenceError("the alert group has no labels to match, so a silence would match every alert")
    ends = now + duration
    body = {
        "matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in sorted(matchers.items())],
        "startsAt": now.isoformat(),
        "endsAt": ends.isoformat(),
        "createdBy": created_by,
        "comment": comment,
    }
    url = f"{base_url.rstrip('/')}/api/v2/silences"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session, \
                session.post(url, json=body) as resp:
            text = await resp.text()
            if resp.status != 200:
                raise SilenceError(f"Alertmanager at {base_url} answered {resp.status}: {text.strip()[:300]}")
            data = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise SilenceError(f"Alertmanager at {base_url} is unreachable ({type(exc).__name__}: {exc})") from exc
    silence_id = data.get("silenceID") if isinstance(data, dict) else None
    if not silence_id:
        raise SilenceError(f"Alertmanager at {base_url} answered without a silenceID: {text.strip()[:300]}")
    return Silence(str(silence_id), dict(matchers), now, ends)
