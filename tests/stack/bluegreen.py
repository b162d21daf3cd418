"""The runbook's production layout, locally: nginx in front of blue and green app containers.

Starting state (what a deploy of v1.0.0 finds):
- green runs v0.9.0 (image audio-tai-loc-backend:v0.9.0, container audio-tai-loc-green, its migrations
  applied to the stack's own PostgreSQL database) and nginx sends all traffic to it; the upstream file
  carries the atl-bot state header saying so;
- blue is idle: its checkout exists (at v0.9.0, like a server that last deployed there), no container;
- both checkouts clone a bare origin holding the tags v0.9.0, v1.0.0 and v1.1.0-broken.

`environment_config()` is the `environments.production` block pointing the bot at all of this.
"""

import json
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import docker
from docker.errors import NotFound

from tests.harness.net import free_port
from tests.stack.gitrepo import TaggedRepo, app_repo
from tests.stack.images import build_app_image
from tests.stack.nginx import NginxServer
from tests.stack.podman import PodmanService

Colour = Literal["blue", "green"]
IMAGE = "audio-tai-loc-backend"
CONTAINER_PORT = 3000
STATE_PREFIX = "# atl-bot-state: "  # the header nginx.live reads (handlers/nginx.py documents it)


@dataclass
class ColourSlot:
    colour: Colour
    port: int
    container: str
    app_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class BlueGreenStack:
    root: Path
    engine: PodmanService
    nginx: NginxServer
    repo: TaggedRepo
    colours: dict[Colour, ColourSlot]
    database_url: str | None  # host side (TCP), for the bot's postgres.* steps and assertions
    container_database_url: str | None  # inside containers (the mounted unix socket)
    image: str = IMAGE
    live: Colour = "green"
    live_version: str = "v0.9.0"
    containers: list[str] = field(default_factory=list)

    @property
    def docker_host(self) -> str:
        return self.engine.docker_host

    @property
    def nginx_url(self) -> str:
        return self.nginx.url

    @property
    def public_health_url(self) -> str:
        return f"{self.nginx.url}/health"

    @property
    def site_path(self) -> Path:
        return self.nginx.site_path

    @property
    def test_cmd(self) -> list[str]:
        return self.nginx.test_cmd

    @property
    def reload_cmd(self) -> list[str]:
        return self.nginx.reload_cmd

    @property
    def ports(self) -> dict[Colour, int]:
        return {name: slot.port for name, slot in self.colours.items()}

    @property
    def container_env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.container_database_url} if self.container_database_url else {}

    def client(self) -> docker.DockerClient:
        return self.engine.client()

    def environment_config(self, **overrides: Any) -> dict[str, Any]:
        """`environments.production` for the bot's config (bot/config/environments.py), short timers."""
        config: dict[str, Any] = {
            "image": self.image,
            "app_host": "127.0.0.1",
            "container_port": CONTAINER_PORT,
            "container_env": self.container_env,
            "env_file": ".env.production",
            "colours": {name: {"app_dir": str(slot.app_dir), "port": slot.port, "container": slot.container}
                        for name, slot in self.colours.items()},
            "nginx": {"site_path": str(self.site_path), "upstream": self.nginx.upstream,
                      "test_cmd": self.test_cmd, "reload_cmd": self.reload_cmd},
            "health": {"public_url": self.public_health_url, "detailed_path": "/health/detailed",
                       "smoke_checks": [{"path": "/health", "expect_status": 200},
                                        {"path": "/health/detailed", "expect_status": 200}]},
            "monitor_window": "3s",
            "monitor_interval": "1s",
        }
        if self.database_url:
            config["database_dsn"] = self.database_url
        config.update(overrides)
        return config

    def served_version(self, url: str | None = None) -> str | None:
        """What /health through nginx (or `url`) says right now; None when it does not answer 200."""
        try:
            with urllib.request.urlopen(url or self.public_health_url, timeout=5) as resp:
                return str(json.loads(resp.read()).get("version"))
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def container_status(self, colour: Colour) -> str | None:
        with closing(self.client()) as client:
            try:
                return str(client.containers.get(self.colours[colour].container).status)
            except NotFound:
                return None

    def state_header(self) -> dict[str, Any] | None:
        for line in self.site_path.read_text().splitlines():
            if line.startswith(STATE_PREFIX):
                return dict(json.loads(line.removeprefix(STATE_PREFIX)))
        return None


def run_colour(client: docker.DockerClient, slot: ColourSlot, image: str, env: dict[str, str],
               version: str) -> None:
    """What the runbook's docker.run step does, for the starting state."""
    try:
        client.containers.get(slot.container).remove(force=True)
    except NotFound:
        pass
    client.containers.run(
        image, name=slot.container, detach=True, environment={**env, "APP_COLOUR": slot.colour},
        ports={f"{CONTAINER_PORT}/tcp": ("127.0.0.1", slot.port)},
        labels={"app": "audio-tai-loc", "environment": "production", "colour": slot.colour, "version": version},
    )


def wait_healthy(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise RuntimeError(f"{url} not healthy within {timeout}s: {last}")


def upstream_file(upstream: str, colour: Colour, version: str, server: str) -> str:
    state = {"colour": colour, "version": version, "servers": [server], "upstream": upstream,
             "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    return f"{STATE_PREFIX}{json.dumps(state)}\nupstream {upstream} {{\n    server {server};\n}}\n"


def start_blue_green(engine: PodmanService, *, database_url: str | None = None,
                     container_database_url: str | None = None, live: Colour = "green",
                     live_version: str = "v0.9.0") -> BlueGreenStack:
    """Bring the whole stack up (a few seconds); `stop_blue_green` takes it down."""
    root = Path(tempfile.mkdtemp(prefix="atl-bg-"))
    try:
        repo = app_repo(root / "repo")
        colours: dict[Colour, ColourSlot] = {}
        for colour in ("blue", "green"):
            app_dir = repo.clone(root / f"audio-tai-loc-{colour}", live_version)
            colours[colour] = ColourSlot(colour, free_port(), f"audio-tai-loc-{colour}", app_dir)
        nginx = NginxServer(root / "nginx")
        stack = BlueGreenStack(root=root, engine=engine, nginx=nginx, repo=repo, colours=colours,
                               database_url=database_url, container_database_url=container_database_url,
                               live=live, live_version=live_version)
        slot = colours[live]
        with closing(engine.client()) as client:
            build_app_image(client, slot.app_dir, f"{IMAGE}:{live_version}")
            client.images.get(f"{IMAGE}:{live_version}").tag(IMAGE, f"latest-{live}")
            run_colour(client, slot, f"{IMAGE}:{live_version}", stack.container_env, live_version)
            stack.containers = [s.container for s in colours.values()]
            if container_database_url:
                code, out = client.containers.get(slot.container).exec_run(["npm", "run", "db:migrate:prod"])
                if code != 0:
                    raise RuntimeError(f"migrations in {slot.container} failed ({code}): {out.decode()}")
        wait_healthy(f"{slot.url}/health/detailed")
        nginx.write_config([f"127.0.0.1:{slot.port}"])
        nginx.site_path.write_text(upstream_file(nginx.upstream, live, live_version, f"127.0.0.1:{slot.port}"))
        nginx.start()
        wait_healthy(stack.public_health_url)
        return stack
    except BaseException:
        _remove_containers(engine, ["audio-tai-loc-blue", "audio-tai-loc-green"])
        NginxServer(root / "nginx").stop()
        shutil.rmtree(root, ignore_errors=True)
        raise


def _remove_containers(engine: PodmanService, names: list[str]) -> None:
    with closing(engine.client()) as client:
        for container in client.containers.list(all=True, filters={"label": "app=audio-tai-loc"}):
            container.remove(force=True)
        for name in names:
            try:
                client.containers.get(name).remove(force=True)
            except NotFound:
                pass


def stop_blue_green(stack: BlueGreenStack) -> None:
    _remove_containers(stack.engine, stack.containers)
    stack.nginx.stop()
    shutil.rmtree(stack.root, ignore_errors=True)
