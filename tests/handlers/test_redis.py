"""redis.command against a real redis-server of its own (FLUSHALL must not touch the shared one)."""

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from pydantic import ValidationError

from handlers.redis import CommandParams, command
from handlers.registry import StepContext
from tests.harness.net import free_port, port_open, wait_until

PASSWORD = "redis-pw-7f3a"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A password-protected redis-server (as production's is), with one save so LASTSAVE means something."""
    base = Path(tempfile.mkdtemp(prefix="atl-redis-h-"))
    port = free_port()
    with (base / "redis.log").open("wb") as log:
        process = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--requirepass", PASSWORD,
             "--dir", str(base), "--appendonly", "no"], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: port_open(port) or process.poll() is not None, 15, "redis-server")
        yield f"redis://:{PASSWORD}@127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(base, ignore_errors=True)


async def test_ping_info_config_lastsave_doctor(redis_url: str) -> None:
    ping = await command(CommandParams(url=redis_url, command="PING"), StepContext())
    assert ping.ok and ping.summary == "PING: True"

    info = await command(CommandParams(url=redis_url, command="INFO"), StepContext())
    assert info.ok
    assert info.summary.startswith("redis ") and "used memory" in info.summary
    assert info.outputs["result"]["tcp_port"] > 0

    config = await command(CommandParams(url=redis_url, command="CONFIG GET *"), StepContext())
    assert config.ok
    assert "configuration parameters" in config.summary
    assert "maxmemory-policy:" in config.output
    # CONFIG GET * includes requirepass: the password must not reach Slack.
    assert PASSWORD not in config.output + repr(config.outputs)
    assert "requirepass: [redacted]" in config.output

    lastsave = await command(CommandParams(url=redis_url, command="LASTSAVE"), StepContext())
    assert lastsave.ok and lastsave.summary.startswith("last successful save: 20")

    doctor = await command(CommandParams(url=redis_url, command="MEMORY DOCTOR"), StepContext())
    assert doctor.ok and doctor.output


async def test_flushall_empties_every_database(redis_url: str) -> None:
    for db in (0, 3):
        client = aioredis.Redis.from_url(redis_url.rsplit("/", 1)[0] + f"/{db}")
        await client.set("cache:product:1", "x")
        await client.aclose()
    result = await command(CommandParams(url=redis_url, command="FLUSHALL"), StepContext())
    assert result.ok
    for db in (0, 3):
        client = aioredis.Redis.from_url(redis_url.rsplit("/", 1)[0] + f"/{db}")
        assert await client.dbsize() == 0
        await client.aclose()


async def test_a_wrong_password_fails_without_showing_it(redis_url: str) -> None:
    wrong = redis_url.replace(PASSWORD, "not-the-password")
    result = await command(CommandParams(url=wrong, command="PING"), StepContext())
    assert not result.ok
    assert "not-the-password" not in result.summary + result.output


async def test_nothing_listening_fails() -> None:
    result = await command(CommandParams(url=f"redis://127.0.0.1:{free_port()}/0", command="PING"),
                           StepContext(timeout_s=5))
    assert not result.ok
    assert "ConnectionError" in result.summary


@pytest.mark.parametrize("cmd", ["DEL cache", "CONFIG SET maxmemory 1", "FLUSHDB", "ping", "EVAL 'x' 0"])
def test_only_the_runbooks_commands_are_allowed(cmd: str) -> None:
    with pytest.raises(ValidationError):
        CommandParams(url="redis://127.0.0.1/0", command=cmd)  # type: ignore[arg-type]
