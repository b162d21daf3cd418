"""A fake Slack Socket Mode server: the WebSocket end of `apps.connections.open`.

Point the fake Web API at it (`fake_slack.socket_url = socket.url`); the client then connects here. As
Slack does, every new connection is greeted with `{"type": "hello", ...}`; tests push envelopes
(`slash_commands`, `interactive`, `events_api`) down the newest connection and await the client's acks,
`{"envelope_id": ..., "payload": {...}}`, where the payload is what an HTTP response body would carry.

What is recorded where:
- `.connections`: how many WebSockets the client has opened (each got a hello).
- `.acks`: envelope id -> the ack the client sent for it.
- `.received`: every text frame the client sent, decoded, in order (acks and anything unexpected).
"""

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import WSCloseCode, WSMsgType, web

from tests.harness.fake_slack import TEAM_ID
from tests.harness.net import free_port
from tests.harness.servers import AppServer
from tests.harness.slack_client import APP_ID, DEFAULT_CHANNEL, DEFAULT_USER, command_fields

EnvelopeType = Literal["slash_commands", "interactive", "events_api"]


@dataclass
class FakeSocketMode:
    port: int = field(default_factory=free_port)
    app_id: str = APP_ID
    connections: int = 0
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server = AppServer()
        self._open: list[web.WebSocketResponse] = []
        self._changed = asyncio.Event()

    # --- lifecycle -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """What apps.connections.open hands out; Slack's carries a ticket and the app id, so this one does."""
        return f"ws://127.0.0.1:{self.port}/link/?ticket=fake-ticket&app_id={self.app_id}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/link/", self._link)
        await self._server.start(app, self.port)

    async def stop(self) -> None:
        # Open sockets first: otherwise the runner waits for their handlers until its shutdown timeout.
        for ws in list(self._open):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
        await self._server.stop()

    # --- what tests use --------------------------------------------------------------------------

    @property
    def open_connections(self) -> int:
        return len(self._open)

    async def wait_connected(self, count: int = 1, timeout: float = 30) -> None:  # noqa: ASYNC109 (the contract)
        """Until the client has opened `count` connections in all (each greeted with hello)."""
        await self._wait(lambda: self.connections >= count, timeout,
                         lambda: f"expected {count} Socket Mode connection(s), got {self.connections}")

    async def wait_open(self, count: int, timeout: float = 30) -> None:  # noqa: ASYNC109
        """Until exactly `count` connections are open (a replaced one has been closed by the client)."""
        await self._wait(lambda: len(self._open) == count, timeout,
                         lambda: f"expected {count} open Socket Mode connection(s), have {len(self._open)}")

    async def send(self, kind: EnvelopeType, payload: dict[str, Any], *,
                   accepts_response_payload: bool | None = None, retry_attempt: int = 0) -> str:
        """Push one envelope down the newest connection, as Slack does; returns its envelope id."""
        if not self._open:
            raise AssertionError("no open Socket Mode connection to send an envelope on")
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                                    # Slack lets commands and interactions answer in the ack; events never.
                                    "accepts_response_payload": (kind != "events_api"
                                                                 if accepts_response_payload is None
                                                                 else accepts_response_payload)}
        if kind == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason="timeout" if retry_attempt else "")
        await self._open[-1].send_json(envelope)
        return envelope_id

    async def slash_command(self, cmd: str, text: str = "", *, user_id: str = DEFAULT_USER,
                            channel_id: str = DEFAULT_CHANNEL, response_url: str | None = None) -> str:
        """A slash command envelope; its payload has the fields Slack would post as a form over HTTP."""
        return await self.send("slash_commands", command_fields(
            cmd, text, user_id=user_id, channel_id=channel_id,
            response_url=response_url or f"https://hooks.slack.com/commands/{TEAM_ID}/1/fake",
            trigger_id=f"{int(time.time())}.1.{'f' * 32}", app_id=self.app_id))

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's warning that this connection will close soon; the client should open a new one."""
        if not self._open:
            raise AssertionError("no open Socket Mode connection to send a disconnect on")
        await self._open[-1].send_json({"type": "disconnect", "reason": reason,
                                        "debug_info": {"host": "applink-fake"}})

    async def wait_ack(self, envelope_id: str, timeout: float = 10) -> dict[str, Any]:  # noqa: ASYNC109
        """The client's ack for `envelope_id`, once it arrives."""
        await self._wait(lambda: envelope_id in self.acks, timeout,
                         lambda: f"no ack for envelope {envelope_id}; received: {self.received}")
        return self.acks[envelope_id]

    # --- WebSocket -------------------------------------------------------------------------------

    async def _wait(self, done: Callable[[], bool], timeout: float, problem: Callable[[], str]) -> None:  # noqa: ASYNC109
        deadline = asyncio.get_running_loop().time() + timeout
        while not done():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"{problem()} within {timeout}s")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        if request.query.get("app_id") != self.app_id or not request.query.get("ticket"):
            raise web.HTTPUnauthorized(text="invalid ticket")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._open.append(ws)
        self.connections += 1
        await ws.send_json({"type": "hello", "num_connections": len(self._open),
                            "debug_info": {"host": "applink-fake", "approximate_connection_time": 18060},
                            "connection_info": {"app_id": self.app_id}})
        self._changed.set()
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    doc = json.loads(message.data)
                except ValueError:
                    doc = message.data
                self.received.append(doc)
                if isinstance(doc, dict) and doc.get("envelope_id"):
                    self.acks[str(doc["envelope_id"])] = doc
                self._changed.set()
        finally:
            self._open.remove(ws)
            self._changed.set()
        return ws
