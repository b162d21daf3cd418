"""docker.*: build, tag, run/start/stop/remove by name or label, exec, logs, prune — through the docker SDK.

The engine is whatever DOCKER_HOST names (docker.from_env()): Docker itself in production, podman's
Docker-compatible API service in the tests. The SDK blocks, so each step runs in a worker thread.
"""

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import docker
from docker.errors import BuildError, NotFound
from docker.models.containers import Container
from docker.utils import parse_repository_tag
from pydantic import Field, model_validator

from handlers._common import guarded
from handlers.registry import Params, StepContext, StepResult, handler

T = TypeVar("T")


class BuildParams(Params):
    context: str  # a directory holding the Dockerfile
    tag: str
    dockerfile: str = "Dockerfile"
    buildargs: dict[str, str] = Field(default_factory=dict)


class TagParams(Params):
    image: str
    tag: str


class RunParams(Params):
    name: str
    image: str
    labels: dict[str, str] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)
    ports: dict[str, int] = Field(default_factory=dict)  # "3000/tcp": 3002
    bind_host: str = "127.0.0.1"  # published ports listen here: only nginx on this host reaches a colour
    command: list[str] | None = None
    volumes: dict[str, str] = Field(default_factory=dict)  # host path → container path
    replace: bool = True


class SelectParams(Params):
    """One container by name, or every container carrying all these labels."""

    name: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    stop_timeout_s: int = Field(default=10, ge=0)

    @model_validator(mode="after")
    def _something(self) -> "SelectParams":
        if not self.name and not self.labels:
            raise ValueError("give a container name or labels to select containers by")
        return self


class StartParams(Params):
    name: str


class ExecParams(Params):
    container: str
    argv: list[str] = Field(min_length=1)
    expect_exit: int = 0
    workdir: str | None = None
    env: dict[str, str] = Field(default_factory=dict)


class LogsParams(Params):
    container: str
    tail: int = Field(default=200, ge=1, le=10_000)


class PruneParams(Params):
    images: bool = True
    dangling_only: bool = True


async def _in_thread(ctx: StepContext, work: Callable[[docker.DockerClient], T]) -> T:
    """Run blocking SDK calls in a thread, bounded by the step's timeout (HTTP calls by the client's)."""

    def call() -> T:
        client = docker.from_env(timeout=max(1, int(ctx.timeout_s)))
        try:
            return work(client)
        finally:
            client.close()

    return await asyncio.wait_for(asyncio.to_thread(call), ctx.timeout_s)


def _selected(client: docker.DockerClient, params: SelectParams, *, all_states: bool) -> list[Container]:
    if params.name:
        try:
            found = [client.containers.get(params.name)]
        except NotFound:
            return []
        return [c for c in found if all(c.labels.get(k) == v for k, v in params.labels.items())]
    filters = {"label": [f"{key}={value}" for key, value in params.labels.items()]}
    return list(client.containers.list(all=all_states, filters=filters))


def _which(params: SelectParams) -> str:
    if params.name:
        return params.name
    return "labels " + ", ".join(f"{k}={v}" for k, v in params.labels.items())


@handler("docker.build")
@guarded
async def build(params: BuildParams, ctx: StepContext) -> StepResult:
    """docker build -t TAG CONTEXT."""

    def work(client: docker.DockerClient) -> StepResult:
        try:
            image, logs = client.images.build(path=params.context, tag=params.tag, dockerfile=params.dockerfile,
                                              buildargs=params.buildargs, rm=True, forcerm=True)
        except BuildError as exc:
            return StepResult(ok=False, summary=f"build of {params.tag} failed: {exc.msg}",
                              output=_build_log(exc.build_log))
        return StepResult(ok=True, summary=f"built {params.tag} ({image.short_id})", output=_build_log(logs),
                          outputs={"image_id": image.id})

    return await _in_thread(ctx, work)


def _build_log(chunks: Any) -> str:
    lines = []
    for chunk in chunks:
        if isinstance(chunk, dict):
            lines.append(str(chunk.get("stream") or chunk.get("error") or chunk.get("status") or ""))
    return "".join(lines)


@handler("docker.tag")
@guarded
async def tag(params: TagParams, ctx: StepContext) -> StepResult:
    """docker tag IMAGE TAG."""

    def work(client: docker.DockerClient) -> StepResult:
        repository, tag_name = parse_repository_tag(params.tag)
        client.images.get(params.image).tag(repository, tag_name or "latest")
        return StepResult(ok=True, summary=f"tagged {params.image} as {params.tag}")

    return await _in_thread(ctx, work)


@handler("docker.run")
@guarded
async def run(params: RunParams, ctx: StepContext) -> StepResult:
    """Start a container by name from an image, replacing an existing one of that name when asked."""

    def work(client: docker.DockerClient) -> StepResult:
        notes = []
        try:
            existing = client.containers.get(params.name)
        except NotFound:
            existing = None
        if existing is not None:
            if not params.replace:
                return StepResult(ok=False, summary=f"container {params.name} already exists "
                                                    f"({existing.status}); replace is off")
            existing.remove(force=True)
            notes.append(f"removed the previous {params.name} ({existing.short_id}, {existing.status})")
        ports = {spec: (params.bind_host, host_port) for spec, host_port in params.ports.items()}
        volumes = {host: {"bind": inside, "mode": "rw"} for host, inside in params.volumes.items()}
        container = client.containers.run(params.image, command=params.command, name=params.name, detach=True,
                                          labels=params.labels, environment=params.env, ports=ports,
                                          volumes=volumes or None)
        container.reload()
        notes.append(f"started {params.name} ({container.short_id}) from {params.image}: {container.status}")
        if container.status not in {"running", "created"}:
            logs = container.logs(tail=100).decode("utf-8", errors="replace")
            return StepResult(ok=False, summary=f"{params.name} exited right after start ({container.status})",
                              output="\n".join(notes) + "\n" + logs, outputs={"container_id": container.id})
        published = ", ".join(f"{params.bind_host}:{p}->{s}" for s, p in params.ports.items())
        return StepResult(ok=True, summary=f"{params.name} running from {params.image}"
                                           + (f" on {published}" if published else ""),
                          output="\n".join(notes), outputs={"container_id": container.id})

    return await _in_thread(ctx, work)


@handler("docker.start")
@guarded
async def start(params: StartParams, ctx: StepContext) -> StepResult:
    """docker start NAME."""

    def work(client: docker.DockerClient) -> StepResult:
        container = client.containers.get(params.name)
        container.start()
        container.reload()
        return StepResult(ok=container.status == "running", summary=f"{params.name}: {container.status}",
                          outputs={"container_id": container.id})

    return await _in_thread(ctx, work)


@handler("docker.stop")
@guarded
async def stop(params: SelectParams, ctx: StepContext) -> StepResult:
    """Stop containers by name or labels (nothing to stop is not a failure)."""

    def work(client: docker.DockerClient) -> StepResult:
        running = [c for c in _selected(client, params, all_states=False) if c.status == "running"]
        for container in running:
            container.stop(timeout=params.stop_timeout_s)
        names = [c.name for c in running]
        summary = f"stopped {', '.join(names)}" if names else f"nothing running matches {_which(params)}"
        return StepResult(ok=True, summary=summary, outputs={"stopped": names})

    return await _in_thread(ctx, work)


@handler("docker.remove")
@guarded
async def remove(params: SelectParams, ctx: StepContext) -> StepResult:
    """Remove containers by name or labels, stopping them first."""

    def work(client: docker.DockerClient) -> StepResult:
        found = _selected(client, params, all_states=True)
        for container in found:
            if container.status == "running":
                container.stop(timeout=params.stop_timeout_s)
            container.remove(force=True)
        names = [c.name for c in found]
        summary = f"removed {', '.join(names)}" if names else f"no container matches {_which(params)}"
        return StepResult(ok=True, summary=summary, outputs={"removed": names})

    return await _in_thread(ctx, work)


@handler("docker.exec")
@guarded
async def exec_(params: ExecParams, ctx: StepContext) -> StepResult:
    """docker exec CONTAINER ARGV… and check the exit code."""

    def work(client: docker.DockerClient) -> StepResult:
        container = client.containers.get(params.container)
        exit_code, output = container.exec_run(params.argv, workdir=params.workdir, environment=params.env or None)
        text = (output or b"").decode("utf-8", errors="replace")
        ok = exit_code == params.expect_exit
        expected = "" if ok else f" (expected {params.expect_exit})"
        return StepResult(ok=ok, summary=f"{' '.join(params.argv)} in {params.container}: exit {exit_code}{expected}",
                          output=text, outputs={"exit_code": exit_code})

    return await _in_thread(ctx, work)


@handler("docker.logs")
@guarded
async def logs(params: LogsParams, ctx: StepContext) -> StepResult:
    """The last lines of a container's log."""

    def work(client: docker.DockerClient) -> StepResult:
        container = client.containers.get(params.container)
        text = container.logs(tail=params.tail, stdout=True, stderr=True).decode("utf-8", errors="replace")
        lines = text.count("\n")
        return StepResult(ok=True, summary=f"last {lines} log lines of {params.container} ({container.status})",
                          output=text)

    return await _in_thread(ctx, work)


@handler("docker.prune")
@guarded
async def prune(params: PruneParams, ctx: StepContext) -> StepResult:
    """docker image prune (-a when dangling_only is off)."""

    def work(client: docker.DockerClient) -> StepResult:
        if not params.images:
            return StepResult(ok=True, summary="nothing to prune (images: false)")
        report = client.images.prune(filters={"dangling": params.dangling_only})
        deleted = [next(iter(entry.values())) for entry in report.get("ImagesDeleted") or [] if entry]
        reclaimed = report.get("SpaceReclaimed") or 0
        return StepResult(ok=True, summary=f"pruned {len(deleted)} image(s), {reclaimed / 1e6:.1f} MB reclaimed",
                          output="\n".join(map(str, deleted)), outputs={"deleted": deleted, "reclaimed": reclaimed})

    return await _in_thread(ctx, work)

