"""`atl-bot serve` in Socket Mode (SLACK_APP_TOKEN set), as an operator runs it, against the fake Slack Web
API and a fake Socket Mode server: the bot opens the socket with the app token, answers commands in the ack,
refuses HTTP events, follows Slack's reconnect request, and a wrong app token stops startup with a message
naming SLACK_APP_TOKEN."""

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.harness import FakeSlack, ServeProcess, SignedSlack, free_port, write_config
from tests.harness.fake_socket_mode import FakeSocketMode


@pytest.fixture
async def socket_mode(fake_slack: FakeSlack) -> AsyncIterator[FakeSocketMode]:
    fake = FakeSocketMode()
    await fake.start()
    fake_slack.socket_url = fake.url
    try:
        yield fake
    finally:
        await fake.stop()


def socket_env(fake_slack: FakeSlack, database_url: str, redis_url: str, tmp_path: Path,
               app_token: str) -> dict[str, str | None]:
    # No SLACK_SIGNING_SECRET: Socket Mode needs none, and an operator using it may not have one.
    return {
        "SLACK_BOT_TOKEN": fake_slack.token,
        "SLACK_APP_TOKEN": app_token,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ATL_CONFIG": str(write_config(tmp_path / "atl-bot.yml")),
        "ATL_DATA_DIR": str(tmp_path / "data"),
    }


@pytest.fixture
async def served(fake_slack: FakeSlack, socket_mode: FakeSocketMode, migrated_database_url: str, redis_url: str,
                 tmp_path: Path) -> AsyncIterator[ServeProcess]:
    proc = ServeProcess(env=socket_env(fake_slack, migrated_database_url, redis_url, tmp_path, fake_slack.app_token),
                        workdir=tmp_path)
    proc.start()
    try:
        await proc.wait_ready(timeout=60)
        yield proc
    finally:
        await proc.astop()


async def startup_failure(proc: ServeProcess) -> tuple[int, str]:
    """Start `proc`, expecting it to give up on its own: its exit code and the last stderr line."""
    proc.start()
    assert proc.process is not None
    try:
        exit_code = await asyncio.to_thread(proc.process.wait, 90)
    except subprocess.TimeoutExpired:
        await proc.astop()
        raise AssertionError(f"atl-bot serve kept running instead of stopping:\n{proc.stderr()[-3000:]}") from None
    return exit_code, proc.stderr().strip().splitlines()[-1]


def log_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in text.splitlines() if raw.strip()]


async def audit_rows(database_url: str) -> list[dict[str, Any]]:
    async with await psycopg.AsyncConnection.connect(database_url, row_factory=dict_row) as conn:
        cur = await conn.execute("SELECT actor, kind, action, detail, channel, outcome, reason, request_id"
                                 " FROM audit_log ORDER BY id")
        return list(await cur.fetchall())


async def test_connects_with_the_app_token_before_it_reports_ready(served: ServeProcess, fake_slack: FakeSlack,
                                                                    socket_mode: FakeSocketMode) -> None:
    # /readyz answered, so the socket is already open: no waiting here.
    assert socket_mode.connections == 1 and socket_mode.open_connections == 1
    # The fake Web API accepts apps.connections.open only with the app-level token.
    assert len(fake_slack.calls_to("apps.connections.open")) == 1

    assert await served.astop() == 0
    lines = log_lines(served.stderr())
    assert [line["mode"] for line in lines if line["event"] == "atl-bot serving"] == ["socket"]
    assert "atl-bot stopping" in [line["event"] for line in lines]
    # The app token, and the ticket in the WebSocket URL, stay out of the log.
    assert fake_slack.app_token not in served.stderr() and "fake-ticket" not in served.stderr()
    await socket_mode.wait_open(0)


async def test_slash_command_is_answered_in_the_ack_and_audited(served: ServeProcess, socket_mode: FakeSocketMode,
                                                                fake_slack: FakeSlack,
                                                                migrated_database_url: str) -> None:
    help_id = await socket_mode.slash_command("/oncall", "help", user_id="U0ADMIN000", channel_id="C0INCIDENTS")
    refused_id = await socket_mode.slash_command("/deploy", "v1.0.0 --fast", user_id="U0DEPLOYER",
                                                 channel_id="C0DEPLOYS0")

    help_ack = await socket_mode.wait_ack(help_id)
    refused_ack = await socket_mode.wait_ack(refused_id)

    assert help_ack["payload"]["response_type"] == "ephemeral" and "/oncall" in help_ack["payload"]["text"]
    assert help_ack["payload"]["blocks"]
    assert refused_ack["payload"]["response_type"] == "ephemeral" and "--fast" in refused_ack["payload"]["text"]
    rows = {row["action"]: row for row in await audit_rows(migrated_database_url)}
    assert {action: (r["actor"], r["kind"], r["detail"], r["channel"], r["outcome"]) for action, r in rows.items()} == {
        "/oncall": ("U0ADMIN000", "command", "help", "C0INCIDENTS", "accepted"),
        "/deploy": ("U0DEPLOYER", "command", "v1.0.0 --fast", "C0DEPLOYS0", "refused"),
    }
    # The envelope id is the request id, in the audit row and in the log line of the same command.
    assert rows["/oncall"]["request_id"] == help_id and rows["/deploy"]["request_id"] == refused_id
    assert await served.astop() == 0
    commands = {line["command"]: line for line in log_lines(served.stderr()) if line["event"] == "slash command"}
    assert commands["/oncall"]["request_id"] == help_id and commands["/oncall"]["user"] == "U0ADMIN000"
    assert fake_slack.calls_to("chat.postMessage") == []


async def test_http_slack_events_answer_404(served: ServeProcess, fake_slack: FakeSlack,
                                            migrated_database_url: str) -> None:
    # Bolt checks no signatures in Socket Mode, so the HTTP route must refuse even a well-signed request.
    slack = SignedSlack(served.url + "/slack/events", "any-secret", fake_slack)

    reply = await slack.command("/incident", "help", user_id="U0ADMIN000")

    assert reply.status == 404 and reply.json is not None and "Socket Mode" in reply.json["error"]
    assert await audit_rows(migrated_database_url) == []


async def test_reconnects_when_slack_asks_for_a_refresh(served: ServeProcess, socket_mode: FakeSocketMode,
                                                        fake_slack: FakeSlack) -> None:
    await socket_mode.disconnect("refresh_requested")

    await socket_mode.wait_connected(2)
    await socket_mode.wait_open(1)  # the client dropped the old connection itself
    assert len(fake_slack.calls_to("apps.connections.open")) == 2
    envelope_id = await socket_mode.slash_command("/incident", "help", user_id="U0ADMIN000")
    ack = await socket_mode.wait_ack(envelope_id)
    assert "/incident" in ack["payload"]["text"]


async def test_rejected_app_token_stops_startup_naming_slack_app_token(
        fake_slack: FakeSlack, socket_mode: FakeSocketMode, migrated_database_url: str, redis_url: str,
        tmp_path: Path) -> None:
    wrong = "xapp-1-A0ATLBOT00-1-revoked"
    proc = ServeProcess(env=socket_env(fake_slack, migrated_database_url, redis_url, tmp_path, wrong),
                        workdir=tmp_path)

    exit_code, last_line = await startup_failure(proc)

    assert exit_code == 1, proc.stderr()[-3000:]
    assert last_line.startswith("atl-bot: cannot start: Slack refused SLACK_APP_TOKEN (invalid_auth)")
    assert "connections:write" in last_line
    assert [c.error for c in fake_slack.rejected if c.method == "apps.connections.open"] == ["invalid_auth"]
    assert socket_mode.connections == 0
    assert wrong not in proc.stderr()


async def test_socket_mode_off_for_the_app_stops_startup(fake_slack: FakeSlack, migrated_database_url: str,
                                                         redis_url: str, tmp_path: Path) -> None:
    # No socket_url: the fake answers as Slack does when the app has Socket Mode turned off.
    proc = ServeProcess(env=socket_env(fake_slack, migrated_database_url, redis_url, tmp_path, fake_slack.app_token),
                        workdir=tmp_path)

    exit_code, last_line = await startup_failure(proc)

    assert exit_code == 1, proc.stderr()[-3000:]
    assert "SLACK_APP_TOKEN (not_allowed_token_type)" in last_line and "socket_mode_enabled" in last_line


async def test_unreachable_websocket_stops_startup(fake_slack: FakeSlack, migrated_database_url: str,
                                                   redis_url: str, tmp_path: Path) -> None:
    port = free_port()  # nobody listens there
    fake_slack.socket_url = f"ws://127.0.0.1:{port}/link/?ticket=fake-ticket&app_id=A0ATLBOT00"
    proc = ServeProcess(env=socket_env(fake_slack, migrated_database_url, redis_url, tmp_path, fake_slack.app_token),
                        workdir=tmp_path)

    exit_code, last_line = await startup_failure(proc)

    assert exit_code == 1, proc.stderr()[-3000:]
    assert f"no Socket Mode WebSocket to 127.0.0.1:{port}" in last_line
    assert "fake-ticket" not in proc.stderr()


async def test_unreachable_web_api_stops_startup_naming_slack_api_url(fake_slack: FakeSlack, migrated_database_url: str,
                                                                      redis_url: str, tmp_path: Path) -> None:
    env = socket_env(fake_slack, migrated_database_url, redis_url, tmp_path, fake_slack.app_token)
    env["SLACK_API_URL"] = f"http://127.0.0.1:{free_port()}/api/"  # nobody listens there
    proc = ServeProcess(env=env, workdir=tmp_path)

    exit_code, last_line = await startup_failure(proc)

    assert exit_code == 1, proc.stderr()[-3000:]
    assert last_line.startswith("atl-bot: cannot start: Slack's Web API is not reachable at SLACK_API_URL")
