"""A client that sends what Slack sends: slash-command forms, block_actions and view_submission payloads,
signed with v0 HMAC-SHA256 of "v0:{timestamp}:{body}" exactly as Slack signs them."""

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp

from tests.harness.fake_slack import TEAM_ID

if TYPE_CHECKING:
    from tests.harness.fake_slack import FakeSlack

FORM = "application/x-www-form-urlencoded"
APP_ID = "A0ATLBOT00"
DEFAULT_USER = "U0TESTUSER"
DEFAULT_CHANNEL = "C0GENERAL0"


@dataclass
class HttpResult:
    status: int
    body: str
    json: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)


def signature(secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def command_fields(cmd: str, text: str, *, user_id: str, channel_id: str, response_url: str, trigger_id: str,
                   app_id: str = APP_ID) -> dict[str, str]:
    """A slash command's fields as Slack sends them: a form over HTTP, an envelope's payload in Socket Mode."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "atl-test",
        "channel_id": channel_id,
        "channel_name": channel_id.lower(),
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": cmd,
        "text": text,
        "api_app_id": app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def _user(user_id: str) -> dict[str, Any]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID}


def _find_element(message: dict[str, Any], action_id: str) -> tuple[str | None, dict[str, Any] | None]:
    """The block_id and element carrying `action_id` in a posted message (buttons, accessories)."""
    for block in message.get("blocks") or []:
        candidates = list(block.get("elements") or [])
        if block.get("accessory"):
            candidates.append(block["accessory"])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block.get("block_id"), element
    return None, None


class SignedSlack:
    """Posts to the bot's /slack/events as Slack would. `fake_slack` supplies response_urls."""

    def __init__(self, url: str, secret: str, fake_slack: "FakeSlack | None" = None) -> None:
        self.url = url
        self.secret = secret
        self.fake_slack = fake_slack
        self._ids = itertools.count(1)

    def _response_url(self, given: str | None) -> str:
        if given is not None:
            return given
        tag = f"r{next(self._ids)}"
        if self.fake_slack is not None:
            return self.fake_slack.response_url(tag)
        return f"https://hooks.slack.com/commands/{TEAM_ID}/{tag}/fake"

    def _trigger_id(self) -> str:
        return f"{int(time.time())}.{next(self._ids)}.{'f' * 32}"

    def sign(self, body: str, timestamp: str | None = None, secret: str | None = None) -> dict[str, str]:
        """The two headers Slack adds to every request."""
        ts = timestamp if timestamp is not None else str(int(time.time()))
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature(secret or self.secret, ts, body)}

    def command_body(self, cmd: str, text: str = "", *, user_id: str = DEFAULT_USER,
                     channel_id: str = DEFAULT_CHANNEL, response_url: str | None = None) -> str:
        """The form body of a slash command, field for field as Slack posts it."""
        return urlencode(command_fields(cmd, text, user_id=user_id, channel_id=channel_id,
                                        response_url=self._response_url(response_url), trigger_id=self._trigger_id()))

    async def command(self, cmd: str, text: str = "", *, user_id: str = DEFAULT_USER,
                      channel_id: str = DEFAULT_CHANNEL, response_url: str | None = None) -> HttpResult:
        body = self.command_body(cmd, text, user_id=user_id, channel_id=channel_id, response_url=response_url)
        return await self.post_raw(body)

    async def block_action(
        self,
        action_id: str,
        value: str | None = None,
        *,
        user_id: str = DEFAULT_USER,
        channel_id: str | None = None,
        message_ts: str | None = None,
        block_id: str | None = None,
        message: dict[str, Any] | None = None,
        response_url: str | None = None,
        selected_option: str | dict[str, Any] | None = None,
    ) -> HttpResult:
        """Click a button (or pick an option). Given `message` (e.g. from fake_slack.messages), the
        channel, ts, block_id and button value are taken from it, as Slack would."""
        element: dict[str, Any] | None = None
        if message is not None:
            found_block, element = _find_element(message, action_id)
            if element is None:
                raise AssertionError(f"no element with action_id {action_id!r} in the message: {message}")
            block_id = block_id or found_block
            channel_id = channel_id or message.get("channel")
            message_ts = message_ts or message.get("ts")
            if value is None:
                value = element.get("value")
        channel_id = channel_id or DEFAULT_CHANNEL
        message_ts = message_ts or f"{int(time.time())}.000100"
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id or "block",
            "action_ts": f"{time.time():.6f}",
        }
        if selected_option is not None:
            option = selected_option if isinstance(selected_option, dict) else {
                "text": {"type": "plain_text", "text": selected_option, "emoji": True}, "value": selected_option}
            action.update(type="static_select", selected_option=option)
        else:
            label = ((element or {}).get("text") or {}).get("text", action_id)
            action.update(type="button", text={"type": "plain_text", "text": label, "emoji": True})
            if value is not None:
                action["value"] = value
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": _user(user_id),
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id,
                          "is_ephemeral": False},
            "trigger_id": self._trigger_id(),
            "team": {"id": TEAM_ID, "domain": "atl-test"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": channel_id.lower()},
            "message": message or {"type": "message", "ts": message_ts, "text": "", "blocks": []},
            "state": {"values": {}},
            "response_url": self._response_url(response_url),
            "actions": [action],
        }
        return await self.post_raw(urlencode({"payload": json.dumps(payload)}))

    async def view_submission(
        self,
        callback_id: str,
        values: dict[str, dict[str, Any]],
        *,
        user_id: str = DEFAULT_USER,
        private_metadata: str = "",
        view_id: str | None = None,
    ) -> HttpResult:
        """Submit a modal. `values` is block_id -> action_id -> state; a plain string is shorthand
        for a plain_text_input's value."""
        state = {
            block: {action: ({"type": "plain_text_input", "value": v} if isinstance(v, str) or v is None else v)
                    for action, v in actions.items()}
            for block, actions in values.items()
        }
        view_id = view_id or f"V{next(self._ids):09d}"
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": "atl-test"},
            "user": _user(user_id),
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "trigger_id": self._trigger_id(),
            "view": {
                "id": view_id, "team_id": TEAM_ID, "type": "modal", "blocks": [],
                "private_metadata": private_metadata, "callback_id": callback_id,
                "state": {"values": state}, "hash": f"{time.time():.6f}",
                "title": {"type": "plain_text", "text": "atl-bot"}, "close": None, "submit": None,
                "previous_view_id": None, "root_view_id": view_id, "app_id": APP_ID, "external_id": "",
                "app_installed_team_id": TEAM_ID, "bot_id": "B0ATLBOT00",
            },
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return await self.post_raw(urlencode({"payload": json.dumps(payload)}))

    async def post_raw(
        self,
        body: str,
        timestamp: str | None = None,
        signature: str | None = None,
        secret: str | None = None,
        content_type: str = FORM,
        *,
        sign: bool = True,
    ) -> HttpResult:
        """Post any body. By default it is signed now with our secret; pass `timestamp`, `secret` or a
        ready `signature` to forge, or `sign=False` to send no signature headers at all."""
        headers = {"Content-Type": content_type}
        if sign:
            headers.update(self.sign(body, timestamp, secret))
            if signature is not None:
                headers["X-Slack-Signature"] = signature
        async with aiohttp.ClientSession() as session, session.post(self.url, data=body.encode(),
                                                                     headers=headers) as resp:
            text = await resp.text()
            return HttpResult(resp.status, text, _json_or_none(text), dict(resp.headers))


def _json_or_none(text: str) -> dict[str, Any] | None:
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None
