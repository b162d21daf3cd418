"""Images for the tests, built locally FROM scratch: nothing is ever pulled.

`atl-test-base` is a busybox-static rootfs (sh, httpd, …) plus psql and the shared libraries it links,
so the test app can run its migrations against the real PostgreSQL. The app itself (tests/stack/app/)
is built FROM it, from a git checkout, exactly as the runbook's `docker build` step does.
"""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import docker

BASE_IMAGE = "localhost/atl-test-base:latest"
APP_SOURCE = Path(__file__).parent / "app"
BUSYBOX = Path(os.environ.get("ATL_TEST_BUSYBOX", shutil.which("busybox") or "/bin/busybox"))
PSQL = Path(os.environ.get("ATL_TEST_PG_BIN", "/usr/lib/postgresql/15/bin")) / "psql"

BASE_DOCKERFILE = """\
FROM scratch
COPY rootfs/ /
ENV PATH=/bin
RUN ["/bin/busybox", "--install", "-s", "/bin"]
"""


def _is_static(binary: Path) -> bool:
    out = subprocess.run(["file", "-L", str(binary)], capture_output=True, text=True, check=False).stdout
    return "statically linked" in out or "static-pie linked" in out


def _libraries(binary: Path) -> list[Path]:
    """Every shared object `binary` loads (ldd's resolved paths plus the dynamic loader)."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    return [Path(p) for p in re.findall(r"(/\S+)", out)]


def _copy_into(rootfs: Path, path: Path) -> None:
    target = rootfs / path.relative_to("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path.resolve(), target)


def base_rootfs(rootfs: Path) -> None:
    """busybox (applets installed as symlinks at build time), psql with its libraries, /etc basics."""
    if not BUSYBOX.exists() or (shutil.which("file") and not _is_static(BUSYBOX)):
        raise RuntimeError(f"{BUSYBOX} is not a static busybox: apt-get install busybox-static")
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy2(BUSYBOX, rootfs / "bin" / "busybox")
    for path in [PSQL, *_libraries(PSQL)]:
        _copy_into(rootfs, path)
    etc = rootfs / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    (etc / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    for name in ("tmp", "www", "root"):
        (rootfs / name).mkdir(exist_ok=True)
    (rootfs / "tmp").chmod(0o1777)


def build_base_image(client: docker.DockerClient, tag: str = BASE_IMAGE) -> str:
    """Build the base image (a few seconds); returns its id."""
    with tempfile.TemporaryDirectory(prefix="atl-base-") as tmp:
        context = Path(tmp)
        base_rootfs(context / "rootfs")
        (context / "Dockerfile").write_text(BASE_DOCKERFILE)
        image, _ = client.images.build(path=str(context), tag=tag, rm=True, forcerm=True)
    return str(image.id)


def build_app_image(client: docker.DockerClient, context: Path, tag: str, version: str | None = None) -> str:
    """The test app from a checkout (or APP_SOURCE); `version` overrides app/VERSION."""
    buildargs = {"VERSION": version} if version else {}
    image, _ = client.images.build(path=str(context), tag=tag, buildargs=buildargs, rm=True, forcerm=True)
    return str(image.id)
