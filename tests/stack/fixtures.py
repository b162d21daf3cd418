"""pytest fixtures for the real local stack. Use them from any conftest with

    from tests.stack.fixtures import *  # noqa: F403

(or `pytest_plugins = ["tests.stack.fixtures"]` in the root conftest). What each one gives:

- `docker_engine` (session): podman's Docker API service (PodmanService); sets DOCKER_HOST for the
  session, so the docker.* handlers and docker.from_env() talk to it. Every container gets the
  PostgreSQL socket directory of `pg_server` bind-mounted at the same path.
- `docker_client` (session): a docker SDK client on it.
- `base_image` (session): localhost/atl-test-base:latest (busybox + psql), built once.
- `blue_green_stack` (function): BlueGreenStack — nginx → green v0.9.0 live, blue idle, the git
  origin with v0.9.0/v1.0.0/v1.1.0-broken, a database of its own with v0.9.0's migrations. Has
  nginx_url, site_path, test_cmd, reload_cmd, ports (colour → host port), colours[c].app_dir,
  docker_host, public_health_url, database_url, environment_config().
- `nginx` (function): a bare nginx (NginxServer) in front of nothing yet.
- `app_repo_dir` (function): TaggedRepo of the test app.
- `metrics_app` / `prometheus` (session): a settable metrics app and a real Prometheus scraping it every
  second. Tests that change metrics must put them back (`metrics_app.set(...)`).
- `pm2_home` (session): PM2_HOME of a daemon of our own (set in the environment for the session).
- `pm2_test_app` (function): the pm2 test app checked out at v0.9.0 and built, with an ecosystem file;
  its processes are deleted afterwards.
"""

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from pathlib import Path

import docker
import pytest

from tests.harness.postgres import PgServer, database_name
from tests.stack.bluegreen import BlueGreenStack, start_blue_green, stop_blue_green
from tests.stack.gitrepo import TaggedRepo, app_repo
from tests.stack.images import BASE_IMAGE, build_base_image
from tests.stack.nginx import NginxServer
from tests.stack.nginx import nginx_server as start_nginx
from tests.stack.pm2 import Pm2App, kill_pm2, make_pm2_home, pm2, pm2_app
from tests.stack.podman import PodmanService, podman_service
from tests.stack.prometheus import MetricsApp, PrometheusServer, prometheus_server


def _set_env(name: str, value: str) -> str | None:
    old = os.environ.get(name)
    os.environ[name] = value
    return old


def _restore_env(name: str, old: str | None) -> None:
    if old is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = old


@pytest.fixture(scope="session")
def docker_engine(pg_server: PgServer) -> Iterator[PodmanService]:
    sockets = str(pg_server.socket_dir)
    with podman_service(volumes=[f"{sockets}:{sockets}"]) as engine:
        old = _set_env("DOCKER_HOST", engine.docker_host)
        try:
            yield engine
        finally:
            _restore_env("DOCKER_HOST", old)


@pytest.fixture(scope="session")
def docker_client(docker_engine: PodmanService) -> Iterator[docker.DockerClient]:
    with closing(docker_engine.client()) as client:
        yield client


@pytest.fixture(scope="session")
def base_image(docker_client: docker.DockerClient) -> str:
    build_base_image(docker_client)
    return BASE_IMAGE


def container_database_url(pg_server: PgServer, name: str) -> str:
    """The database as a container sees it: through the bind-mounted unix socket."""
    return f"postgresql://postgres@/{name}?host={pg_server.socket_dir}&port={pg_server.port}"


@pytest.fixture
async def blue_green_stack(pg_server: PgServer, docker_engine: PodmanService,
                           base_image: str) -> AsyncIterator[BlueGreenStack]:
    url = await pg_server.create_database()
    name = database_name(url)
    stack = await asyncio.to_thread(start_blue_green, docker_engine, database_url=url,
                                    container_database_url=container_database_url(pg_server, name))
    try:
        yield stack
    finally:
        await asyncio.to_thread(stop_blue_green, stack)
        await pg_server.drop_database(name)


@pytest.fixture
def nginx() -> Iterator[NginxServer]:
    server = start_nginx()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)


@pytest.fixture
def app_repo_dir() -> Iterator[TaggedRepo]:
    root = Path(tempfile.mkdtemp(prefix="atl-repo-"))
    try:
        yield app_repo(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
async def metrics_app() -> AsyncIterator[MetricsApp]:
    app = MetricsApp()
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


@pytest.fixture(scope="session")
async def prometheus(metrics_app: MetricsApp) -> AsyncIterator[PrometheusServer]:
    server = await prometheus_server([f"127.0.0.1:{metrics_app.port}"])
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pm2_home() -> Iterator[Path]:
    home = make_pm2_home()
    old = _set_env("PM2_HOME", str(home))
    try:
        yield home
    finally:
        _restore_env("PM2_HOME", old)
        kill_pm2(home)


@pytest.fixture
def pm2_test_app(pm2_home: Path) -> Iterator[Pm2App]:
    app = pm2_app(pm2_home)
    try:
        yield app
    finally:
        pm2(pm2_home, "delete", "all")
        shutil.rmtree(app.root, ignore_errors=True)
