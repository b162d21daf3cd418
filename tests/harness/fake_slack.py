"""A fake Slack Web API (aiohttp) reached through SLACK_API_URL.

It records every call, checks the bearer token and required arguments, enforces Block Kit limits,
serves response_urls and file uploads, and can be told to answer 429 with Retry-After or a 5xx.

What is recorded where:
- `.calls`: accepted calls (Slack answered `ok: true`), in order.
- `.rejected`: calls Slack answered `ok: false` (the error is on the Call).
- `.throttled`: calls answered with an injected 429/5xx by `.fail()`.
- `.responses`: JSON bodies posted to `response_url()`s.
"""

import asyncio
import itertools
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.harness import blockkit
from tests.harness.net import free_port
from tests.harness.servers import AppServer

TOKEN = "xoxb-test-token"
TEAM_ID = "T0TESTTEAM"
BOT_USER_ID = "U0ATLBOT00"
BOT_ID = "B0ATLBOT00"
CHANNEL = re.compile(r"^[CGD][A-Z0-9]{6,}$")
USER = re.compile(r"^[UW][A-Z0-9]{6,}$")
# Arguments that arrive JSON-encoded when the client posts a form.
_JSON_ARGS = {"blocks", "attachments", "view", "files", "metadata"}


class SlackError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float
    error: str | None = None


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    remaining: int


Method = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass
class FakeSlack:
    token: str = TOKEN
    port: int = field(default_factory=free_port)
    calls: list[Call] = field(default_factory=list)
    rejected: list[Call] = field(default_factory=list)
    throttled: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    reactions: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    # user id -> users.info "user" object; unknown but well-formed ids get a generated user.
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    # channel id -> name; well-formed ids not listed here exist too, unless in missing_channels.
    channels: dict[str, str] = field(default_factory=dict)
    missing_channels: set[str] = field(default_factory=set)
    # user-group id (S…) -> member user ids, for usergroups.users.list; other ids are no_such_subteam.
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    # Socket Mode: the app-level token apps.connections.open accepts, and the WebSocket URL it hands out.
    app_token: str = "xapp-1-A0ATLBOT00-1-test"
    socket_url: str | None = None

    def __post_init__(self) -> None:
        self._failures: dict[str, _Failure] = {}
        self._changed = asyncio.Event()
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._server = AppServer()
        self._methods: dict[str, Method] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.delete": self._delete,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "users.info": self._users_info,
            "conversations.info": self._conversations_info,
            "reactions.add": self._reactions_add,
            "usergroups.users.list": self._usergroup_users,
            "apps.connections.open": self._connections_open,
        }

    # --- lifecycle -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    async def start(self) -> None:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{tag}", self._response)
        app.router.add_post("/upload/{file_id}", self._upload)
        await self._server.start(app, self.port)

    async def stop(self) -> None:
        await self._server.stop()

    # --- what tests use --------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Arguments of every accepted call to `method`, in order."""
        return [c.args for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10) -> list[dict[str, Any]]:  # noqa: ASYNC109 (the contract)
        """Wait until `method` has been accepted `count` times; returns all their arguments."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.calls_to(method)) < count:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                seen = [c.method for c in self.calls]
                refused = [(c.method, c.error) for c in self.rejected]
                raise AssertionError(
                    f"expected {count} accepted {method} call(s) within {timeout}s, got "
                    f"{len(self.calls_to(method))}; accepted calls: {seen}; rejected: {refused}"
                )
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass
        return self.calls_to(method)

    async def wait_for_responses(self, count: int = 1, timeout: float = 10) -> list[dict[str, Any]]:  # noqa: ASYNC109
        """Wait until `count` bodies have been posted to response URLs."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.responses) < count:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"expected {count} response_url post(s) within {timeout}s, got "
                                     f"{len(self.responses)}: {self.responses}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass
        return list(self.responses)

    def response_url(self, tag: str = "x") -> str:
        return f"{self.base_url}/response/{tag}"

    def fail(self, method: str, status: int = 429, retry_after: int | None = 1, times: int = 1) -> None:
        """The next `times` calls to `method` answer `status` (429 carries Retry-After)."""
        self._failures[method] = _Failure(status, retry_after if status == 429 else None, times)

    def add_user(self, user_id: str, name: str | None = None, tz: str = "Asia/Ho_Chi_Minh", **fields: Any) -> None:
        self.users[user_id] = {**self._generated_user(user_id, name, tz), **fields}

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """The parent message and its replies, oldest first."""
        return sorted(
            (m for (ch, ts), m in self.messages.items()
             if ch == channel and (ts == thread_ts or m.get("thread_ts") == thread_ts)),
            key=lambda m: float(m["ts"]),
        )

    # --- HTTP ------------------------------------------------------------------------------------

    def _record(self, bucket: list[Call], call: Call) -> None:
        bucket.append(call)
        self._changed.set()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _arguments(request)
        token = args.pop("token", None)
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth[len("Bearer "):]
        call = Call(method, args, time.time())
        failure = self._failures.get(method)
        if failure is not None and failure.remaining > 0:
            failure.remaining -= 1
            self._record(self.throttled, call)
            if failure.status == 429:
                headers = {"Retry-After": str(1 if failure.retry_after is None else failure.retry_after)}
                return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers=headers)
            return web.Response(status=failure.status, text="upstream error")
        try:
            if not token:
                raise SlackError("not_authed")
            # apps.connections.open takes only the app-level token (xapp-…); every other method the bot's.
            if token != (self.app_token if method == "apps.connections.open" else self.token):
                raise SlackError("invalid_auth")
            handler = self._methods.get(method)
            if handler is None:
                raise SlackError("unknown_method")
            result = await handler(args)
        except SlackError as exc:
            call.error = exc.error
            self._record(self.rejected, call)
            return web.json_response({"ok": False, "error": exc.error, **exc.extra})
        self._record(self.calls, call)
        return web.json_response({"ok": True, **result})

    async def _response(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")
                                               or body.get("delete_original") or body.get("replace_original")):
            return web.Response(status=400, text="no_text")
        if "blocks" in body and blockkit.block_problems(body["blocks"], blockkit.MESSAGE_BLOCKS):
            return web.Response(status=400, text="invalid_blocks")
        self.responses.append(body)
        self._changed.set()
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if file_id not in self.files:
            return web.Response(status=404, text="unknown upload")
        self.files[file_id]["content"] = await request.read()
        return web.Response(text=f"OK - {len(self.files[file_id]['content'])}")

    # --- methods ---------------------------------------------------------------------------------

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):09d}"

    def _channel(self, args: dict[str, Any], key: str = "channel") -> str:
        channel = args.get(key)
        if not channel or not CHANNEL.match(str(channel)) or channel in self.missing_channels:
            raise SlackError("channel_not_found")
        return str(channel)

    def _content(self, args: dict[str, Any]) -> None:
        """Slack's rules for a message body: something to show, blocks within the limits."""
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            raise SlackError("no_text")
        if len(str(args.get("text") or "")) > blockkit.MESSAGE_TEXT:
            raise SlackError("msg_too_long")
        if args.get("blocks") is not None:
            problems = blockkit.block_problems(args["blocks"], blockkit.MESSAGE_BLOCKS)
            if problems:
                raise SlackError("invalid_blocks", errors=problems)

    async def _auth_test(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"url": "https://atl-test.slack.com/", "team": "ATL test", "user": "atl-bot", "team_id": TEAM_ID,
                "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}

    async def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        self._content(args)
        ts = self._next_ts()
        message = {"type": "message", "channel": channel, "ts": ts, "user": BOT_USER_ID, "bot_id": BOT_ID,
                   "text": args.get("text") or "", "blocks": args.get("blocks") or []}
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        if args.get("metadata"):
            message["metadata"] = args["metadata"]
        self.messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "message": message}

    async def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        ts = str(args.get("ts") or "")
        if (channel, ts) not in self.messages:
            raise SlackError("message_not_found")
        self._content(args)
        message = {**self.messages[(channel, ts)], "text": args.get("text") or "", "blocks": args.get("blocks") or [],
                   "edited": {"user": BOT_USER_ID, "ts": self._next_ts()}}
        self.messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "text": message["text"], "message": message}

    async def _post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        self._channel(args)
        if not args.get("user") or not USER.match(str(args["user"])):
            raise SlackError("user_not_in_channel")
        self._content(args)
        return {"message_ts": self._next_ts()}

    async def _delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        ts = str(args.get("ts") or "")
        if self.messages.pop((channel, ts), None) is None:
            raise SlackError("message_not_found")
        return {"channel": channel, "ts": ts}

    def _check_view(self, view: Any) -> dict[str, Any]:
        if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
            raise SlackError("invalid_arguments", response_metadata={"messages": ["[ERROR] invalid view type"]})
        problems = blockkit.block_problems(view.get("blocks", []), blockkit.MODAL_BLOCKS)
        title = ((view.get("title") or {}).get("text") or "")
        if view["type"] == "modal" and not title:
            problems.append("missing required field: title [json-pointer:/view/title]")
        if len(title) > blockkit.MODAL_TITLE:
            problems.append(f"must be less than {blockkit.MODAL_TITLE + 1} characters [json-pointer:/view/title/text]")
        if len(str(view.get("private_metadata") or "")) > blockkit.PRIVATE_METADATA:
            problems.append("must be less than 3001 characters [json-pointer:/view/private_metadata]")
        if problems:
            raise SlackError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {p}" for p in problems]})
        return view

    async def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            raise SlackError("invalid_arguments", response_metadata={"messages": ["[ERROR] missing trigger_id"]})
        view = self._check_view(args.get("view"))
        view_id = self._next_id("V")
        stored = {**view, "id": view_id, "team_id": TEAM_ID, "state": {"values": {}}, "hash": self._next_ts(),
                  "private_metadata": view.get("private_metadata", ""), "callback_id": view.get("callback_id", "")}
        self.views[view_id] = stored
        return {"view": stored}

    async def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._check_view(args.get("view"))
        view_id = args.get("view_id")
        if not view_id and args.get("external_id"):
            view_id = next((i for i, v in self.views.items() if v.get("external_id") == args["external_id"]), None)
        if not view_id or view_id not in self.views:
            raise SlackError("not_found")
        stored = {**view, "id": view_id, "team_id": TEAM_ID, "state": {"values": {}}, "hash": self._next_ts()}
        self.views[str(view_id)] = stored
        return {"view": stored}

    async def _upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("filename") or not str(args.get("length", "")).isdigit():
            raise SlackError("invalid_arguments")
        file_id = self._next_id("F")
        self.files[file_id] = {"id": file_id, "name": args["filename"], "length": int(args["length"]),
                               "content": None, "shared": False}
        return {"upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    async def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        entries = args.get("files")
        if not isinstance(entries, list) or not entries:
            raise SlackError("invalid_arguments")
        done = []
        for entry in entries:
            stored = self.files.get(str(entry.get("id")))
            if stored is None or stored["content"] is None:
                raise SlackError("file_not_found")
            if args.get("channel_id"):
                self._channel(args, "channel_id")
            stored.update(title=entry.get("title") or stored["name"], shared=bool(args.get("channel_id")),
                          channel=args.get("channel_id"), thread_ts=args.get("thread_ts"),
                          initial_comment=args.get("initial_comment"))
            done.append({"id": stored["id"], "name": stored["name"], "title": stored["title"]})
        return {"files": done}

    def _generated_user(self, user_id: str, name: str | None = None, tz: str = "Asia/Ho_Chi_Minh") -> dict[str, Any]:
        name = name or user_id.lower()
        return {"id": user_id, "team_id": TEAM_ID, "name": name, "real_name": name.title(), "deleted": False,
                "is_bot": False, "tz": tz, "tz_offset": 25200 if tz == "Asia/Ho_Chi_Minh" else 0,
                "profile": {"real_name": name.title(), "display_name": name}}

    async def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user") or "")
        if user in self.users:
            return {"user": self.users[user]}
        if not USER.match(user):
            raise SlackError("user_not_found")
        return {"user": self._generated_user(user)}

    async def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        name = self.channels.get(channel, channel.lower())
        return {"channel": {"id": channel, "name": name, "is_channel": channel.startswith("C"),
                            "is_private": channel.startswith("G"), "is_member": True, "is_archived": False}}

    async def _reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        ts = str(args.get("timestamp") or "")
        name = str(args.get("name") or "")
        if not name:
            raise SlackError("invalid_name")
        if (channel, ts) not in self.messages:
            raise SlackError("message_not_found")
        reaction = {"channel": channel, "timestamp": ts, "name": name}
        if reaction in self.reactions:
            raise SlackError("already_reacted")
        self.reactions.append(reaction)
        return {}

    async def _usergroup_users(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup") or "")
        if group not in self.usergroups:
            raise SlackError("no_such_subteam")
        return {"users": list(self.usergroups[group])}

    async def _connections_open(self, _: dict[str, Any]) -> dict[str, Any]:
        if self.socket_url is None:
            raise SlackError("not_allowed_token_type")  # what Slack says when Socket Mode is off for the app
        return {"url": self.socket_url}


async def _arguments(request: web.Request) -> dict[str, Any]:
    """Query string, form or JSON body, as slack_sdk sends them; JSON-valued form fields decoded."""
    args: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                args.update(body)
        else:
            args.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    for key in _JSON_ARGS & args.keys():
        if isinstance(args[key], str):
            try:
                args[key] = json.loads(args[key])
            except ValueError:
                pass
    return args
