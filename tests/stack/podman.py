"""podman's Docker-compatible API service as the tests' docker engine, with storage of its own.

What works here, and why it is set up this way (checked on Debian 12, podman 4.3, runc, cgroup v1, root):
- `podman system service --time=0 unix://…/podman.sock` with `--root`/`--runroot` in a temp dir: the
  session's images and containers never touch (or see) the machine's own podman storage, and teardown
  is `rm -rf`. The docker SDK talks to it through DOCKER_HOST=unix://…/podman.sock.
- CONTAINERS_CONF points at a file of our own: default ulimits (podman's defaults copy the host's
  RLIMIT_NOFILE, which runc rejects in some CI sandboxes), runtime = runc (crun is not installed),
  cgroupfs + file events (no systemd needed), and bind mounts every container gets (the PostgreSQL
  socket directory, so the app's migrations reach the real database without TCP across the bridge).
- Networking: podman's default bridge with ports published on 127.0.0.1 (`ports={"3000/tcp":
  ("127.0.0.1", port)}`) is reliable and is what the runbook's docker.run does; nothing here uses
  network_mode="host" (two colours listen on the same container port, as in production).
- Nothing is ever pulled: images are built FROM scratch from a busybox-static rootfs (see images.py).
- ATL_TEST_PODMAN_STORAGE_DRIVER=vfs for CI runners where overlay-on-overlay is refused (nested containers).
"""

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import docker

PODMAN = shutil.which("podman") or "/usr/bin/podman"


def containers_conf(volumes: Sequence[str]) -> str:
    mounts = ", ".join(f'"{v}"' for v in volumes)
    return (
        "[containers]\n"
        'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
        f"volumes = [{mounts}]\n"
        "[engine]\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
    )


@dataclass
class PodmanService:
    """One API service on a unix socket; `docker_host` is what DOCKER_HOST must say."""

    workdir: Path
    volumes: list[str] = field(default_factory=list)  # "host:container" bind mounts for every container
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return self.workdir / "podman.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "CONTAINERS_CONF": str(self.workdir / "containers.conf")}

    def podman_argv(self, *args: str) -> list[str]:
        driver = os.environ.get("ATL_TEST_PODMAN_STORAGE_DRIVER", "overlay")
        return [PODMAN, "--root", str(self.workdir / "root"), "--runroot", str(self.workdir / "run"),
                "--storage-driver", driver, "--cgroup-manager", "cgroupfs", "--events-backend", "file", *args]

    def podman(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """The podman CLI on this service's storage (for teardown and debugging)."""
        return subprocess.run(self.podman_argv(*args), env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)

    def start(self, timeout: float = 30) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "containers.conf").write_text(containers_conf(self.volumes))
        with (self.workdir / "service.log").open("wb") as log:
            self.process = subprocess.Popen(
                self.podman_argv("system", "service", "--time=0", self.docker_host),
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"podman system service exited {self.process.returncode}:\n{self.log()[-3000:]}")
            if self.socket.exists():
                with contextlib.suppress(Exception), contextlib.closing(self.client()) as client:
                    client.ping()
                    return
            time.sleep(0.05)
        raise RuntimeError(f"podman system service did not answer on {self.socket} within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        path = self.workdir / "service.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def client(self, timeout: int = 120) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.docker_host, timeout=timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.podman("rm", "--all", "--force", "--time", "0", timeout=120)
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # conmon outlives `docker exec` sessions by its --exit-delay (300 s); ours name our workdir.
        for pid in _processes_mentioning(self.workdir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        # Storage may hold overlay mounts if a container outlived the service; unmount before removing.
        for mount in _mounts_under(self.workdir):
            subprocess.run(["umount", "-l", mount], capture_output=True, check=False)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _processes_mentioning(path: Path) -> list[int]:
    """PIDs whose command line names `path`: only processes this service started can (it is a fresh temp dir)."""
    needle = str(path).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                if needle in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


def _mounts_under(path: Path) -> list[str]:
    with contextlib.suppress(OSError), open("/proc/mounts") as mounts:
        points = [line.split()[1] for line in mounts]
        return sorted((p for p in points if p.startswith(str(path))), key=len, reverse=True)
    return []


@contextlib.contextmanager
def podman_service(volumes: Sequence[str] = ()) -> Iterator[PodmanService]:
    """A started service in a fresh temp dir, removed with everything in it afterwards."""
    # A short path: the API socket and conmon's attach sockets must fit in sun_path (108 bytes).
    service = PodmanService(Path(tempfile.mkdtemp(prefix="atl-podman-")), volumes=list(volumes))
    try:
        service.start()
        yield service
    finally:
        service.stop()
