"""docker.* against podman's Docker API service, with images built FROM scratch from busybox."""

import asyncio
import shutil
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import aiohttp
import docker
import psycopg
import pytest
from docker.errors import NotFound
from pydantic import ValidationError

from handlers.docker import (
    BuildParams,
    ExecParams,
    LogsParams,
    PruneParams,
    RunParams,
    SelectParams,
    StartParams,
    TagParams,
    build,
    exec_,
    logs,
    prune,
    remove,
    run,
    start,
    stop,
    tag,
)
from handlers.registry import StepContext
from tests.harness.net import free_port
from tests.harness.postgres import PgServer, database_name
from tests.stack.fixtures import container_database_url
from tests.stack.images import APP_SOURCE, build_app_image

IMAGE = "atl-handler-test"


@pytest.fixture(scope="module")
def app_image(docker_client: docker.DockerClient, base_image: str) -> str:
    """The test app at v1.0.0, built once for the module."""
    build_app_image(docker_client, APP_SOURCE, f"{IMAGE}:v1.0.0", version="v1.0.0")
    return f"{IMAGE}:v1.0.0"


@pytest.fixture
def names(docker_client: docker.DockerClient) -> Iterator[list[str]]:
    """Container names a test creates; removed afterwards."""
    created: list[str] = []
    yield created
    for name in created:
        with suppress(NotFound):
            docker_client.containers.get(name).remove(force=True)


async def wait_health(port: int, path: str = "/health/detailed") -> dict[str, object]:
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            try:
                async with session.get(f"http://127.0.0.1:{port}{path}") as resp:
                    if resp.status == 200:
                        return dict(await resp.json(content_type=None))
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"nothing healthy on {port}{path}")


async def test_build_tag_and_run_serves_the_version(
    docker_client: docker.DockerClient, base_image: str, names: list[str], tmp_path: Path
) -> None:
    context = tmp_path / "checkout"
    shutil.copytree(APP_SOURCE, context)
    (context / "app" / "VERSION").write_text("v2.3.4\n")
    built = await build(BuildParams(context=str(context), tag=f"{IMAGE}:v2.3.4"), StepContext(timeout_s=120))
    assert built.ok, built.output
    assert built.outputs["image_id"] == docker_client.images.get(f"{IMAGE}:v2.3.4").id
    assert "COMMIT" in built.output or "Successfully" in built.output

    tagged = await tag(TagParams(image=f"{IMAGE}:v2.3.4", tag=f"{IMAGE}:latest-blue"), StepContext())
    assert tagged.ok
    assert docker_client.images.get(f"{IMAGE}:latest-blue").id == built.outputs["image_id"]

    port = free_port()
    names.append("atl-test-blue")
    started = await run(RunParams(name="atl-test-blue", image=f"{IMAGE}:latest-blue", ports={"3000/tcp": port},
                                  labels={"app": "atl-test", "colour": "blue"}, env={"APP_COLOUR": "blue"}),
                        StepContext())
    assert started.ok, started.output
    assert await wait_health(port) == {"status": "ok", "version": "v2.3.4", "checks": {"app": "ok"}}
    container = docker_client.containers.get("atl-test-blue")
    assert container.labels["colour"] == "blue"
    assert container.attrs["HostConfig"]["PortBindings"]["3000/tcp"][0]["HostIp"] == "127.0.0.1"


async def test_build_failure_reports_the_build_log(tmp_path: Path, base_image: str) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM {base_image}\nRUN echo building && exit 7\n")
    result = await build(BuildParams(context=str(tmp_path), tag=f"{IMAGE}:broken"), StepContext(timeout_s=120))
    assert not result.ok
    assert "build of atl-handler-test:broken failed" in result.summary
    assert "building" in result.output


async def test_run_replaces_an_existing_container_only_when_asked(
    app_image: str, names: list[str], docker_client: docker.DockerClient
) -> None:
    names.append("atl-test-green")
    first = await run(RunParams(name="atl-test-green", image=app_image), StepContext())
    assert first.ok, first.output
    refused = await run(RunParams(name="atl-test-green", image=app_image, replace=False), StepContext())
    assert not refused.ok
    assert "already exists" in refused.summary
    replaced = await run(RunParams(name="atl-test-green", image=app_image), StepContext())
    assert replaced.ok
    assert replaced.outputs["container_id"] != first.outputs["container_id"]
    assert "removed the previous atl-test-green" in replaced.output
    assert docker_client.containers.get("atl-test-green").id == replaced.outputs["container_id"]


async def test_exec_reports_exit_codes(app_image: str, names: list[str]) -> None:
    names.append("atl-test-exec")
    assert (await run(RunParams(name="atl-test-exec", image=app_image), StepContext())).ok
    ok = await exec_(ExecParams(container="atl-test-exec", argv=["cat", "/app/VERSION"]), StepContext())
    assert ok.ok and ok.output.strip() == "v1.0.0" and ok.outputs == {"exit_code": 0}

    failed = await exec_(ExecParams(container="atl-test-exec", argv=["sh", "-c", "echo no db >&2; exit 4"]),
                         StepContext())
    assert not failed.ok
    assert failed.outputs == {"exit_code": 4}
    assert "exit 4 (expected 0)" in failed.summary
    assert "no db" in failed.output

    missing = await exec_(ExecParams(container="atl-test-nope", argv=["true"]), StepContext())
    assert not missing.ok
    assert "NotFound" in missing.summary


async def test_migrations_run_inside_the_container_against_real_postgres(
    app_image: str, names: list[str], pg_server: PgServer
) -> None:
    url = await pg_server.create_database()
    env = {"DATABASE_URL": container_database_url(pg_server, database_name(url))}
    names.append("atl-test-migrate")
    try:
        assert (await run(RunParams(name="atl-test-migrate", image=app_image, env=env), StepContext())).ok
        migrated = await exec_(ExecParams(container="atl-test-migrate", argv=["npm", "run", "db:migrate:prod"]),
                               StepContext())
        assert migrated.ok, migrated.output
        assert "migrating 20240101120000-create-orders" in migrated.output
        async with await psycopg.AsyncConnection.connect(url) as conn:
            row = await (await conn.execute("SELECT count(*) FROM schema_migrations")).fetchone()
            assert row == (1,)
            await conn.execute("INSERT INTO orders (total_vnd) VALUES (1500000)")
            await conn.commit()

        bad = await exec_(ExecParams(container="atl-test-migrate",
                                     argv=["npm", "run", "db:migrate:rollback", "--", "--to=20991231000000-nope"]),
                          StepContext())
        assert not bad.ok and "no applied migration named 20991231000000-nope" in bad.output

        undone = await exec_(ExecParams(container="atl-test-migrate", argv=["npm", "run", "db:migrate:rollback"]),
                             StepContext())
        assert undone.ok, undone.output
        async with await psycopg.AsyncConnection.connect(url) as conn:
            row = await (await conn.execute("SELECT to_regclass('orders') IS NULL")).fetchone()
            assert row == (True,)
    finally:
        await pg_server.drop_database(database_name(url))


async def test_logs_tail(app_image: str, names: list[str]) -> None:
    names.append("atl-test-logs")
    port = free_port()
    started = await run(RunParams(name="atl-test-logs", image=app_image, ports={"3000/tcp": port},
                                  env={"APP_COLOUR": "green"}), StepContext())
    assert started.ok
    await wait_health(port)
    result = await logs(LogsParams(container="atl-test-logs", tail=50), StepContext())
    assert result.ok
    assert "atl test app v1.0.0 (green) listening on 3000" in result.output


async def test_stop_start_and_remove_by_name_and_label(
    app_image: str, names: list[str], docker_client: docker.DockerClient
) -> None:
    for colour in ("blue", "green"):
        names.append(f"atl-test-sel-{colour}")
        params = RunParams(name=f"atl-test-sel-{colour}", image=app_image,
                           labels={"app": "atl-test-sel", "colour": colour})
        assert (await run(params, StepContext())).ok

    stopped = await stop(SelectParams(labels={"app": "atl-test-sel", "colour": "green"}), StepContext())
    assert stopped.ok and stopped.outputs == {"stopped": ["atl-test-sel-green"]}
    assert docker_client.containers.get("atl-test-sel-green").status == "exited"
    assert docker_client.containers.get("atl-test-sel-blue").status == "running"

    again = await stop(SelectParams(name="atl-test-sel-green"), StepContext())
    assert again.ok and again.outputs == {"stopped": []}  # already stopped: nothing to do is fine

    restarted = await start(StartParams(name="atl-test-sel-green"), StepContext())
    assert restarted.ok and "running" in restarted.summary

    removed = await remove(SelectParams(labels={"app": "atl-test-sel"}), StepContext())
    assert removed.ok and sorted(removed.outputs["removed"]) == ["atl-test-sel-blue", "atl-test-sel-green"]
    assert docker_client.containers.list(all=True, filters={"label": "app=atl-test-sel"}) == []


def test_stop_needs_a_name_or_labels() -> None:
    with pytest.raises(ValidationError):
        SelectParams()


async def test_prune_removes_dangling_images(docker_client: docker.DockerClient, base_image: str) -> None:
    build_app_image(docker_client, APP_SOURCE, f"{IMAGE}:prune-me", version="v0.0.1")
    old_id = docker_client.images.get(f"{IMAGE}:prune-me").id
    build_app_image(docker_client, APP_SOURCE, f"{IMAGE}:prune-me", version="v0.0.2")  # the old one dangles
    result = await prune(PruneParams(), StepContext())
    assert result.ok, result.summary
    with pytest.raises(NotFound):
        docker_client.images.get(old_id)
    docker_client.images.get(f"{IMAGE}:prune-me")  # the tagged image stays


async def test_a_step_past_its_timeout_fails(app_image: str, names: list[str]) -> None:
    names.append("atl-test-slow")
    assert (await run(RunParams(name="atl-test-slow", image=app_image), StepContext())).ok
    result = await exec_(ExecParams(container="atl-test-slow", argv=["sleep", "30"]), StepContext(timeout_s=1))
    assert not result.ok
    assert "timed out after 1s" in result.summary
