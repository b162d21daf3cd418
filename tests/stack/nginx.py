"""A real nginx as root without systemd: its own prefix dir, a free port, the site including an upstream file.

    nginx -p DIR -c DIR/nginx.conf -e DIR/error.log            start (master daemonises, pid in DIR)
    nginx -t -q -p DIR -c DIR/nginx.conf -e DIR/error.log      test_cmd for nginx.switch
    nginx -s reload -p DIR -c DIR/nginx.conf -e DIR/error.log  reload_cmd (graceful: old workers finish)

The upstream file (`site_path`) is what nginx.switch rewrites; the site proxies everything to it.
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness.net import free_port, port_open
from tests.stack.procs import running

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

NGINX_CONF = """\
worker_processes 2;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    include {dir}/upstream.conf;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://{upstream};
            proxy_set_header Host $host;
            proxy_connect_timeout 2s;
        }}
    }}
}}
"""


@dataclass
class NginxServer:
    """One nginx master; `site_path` is the upstream file, `url` the site."""

    dir: Path
    upstream: str = "atl_backend"
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def conf(self) -> Path:
        return self.dir / "nginx.conf"

    @property
    def site_path(self) -> Path:
        return self.dir / "upstream.conf"

    def _args(self) -> list[str]:
        return ["-p", f"{self.dir}/", "-c", str(self.conf), "-e", str(self.dir / "error.log")]

    @property
    def test_cmd(self) -> list[str]:
        return [NGINX, "-t", "-q", *self._args()]

    @property
    def reload_cmd(self) -> list[str]:
        return [NGINX, "-s", "reload", *self._args()]

    def write_config(self, upstream_servers: list[str]) -> None:
        """nginx.conf and a first upstream file without an atl-bot state header (as a hand-made one)."""
        (self.dir / "tmp").mkdir(parents=True, exist_ok=True)
        self.conf.write_text(NGINX_CONF.format(dir=self.dir, port=self.port, upstream=self.upstream))
        servers = "".join(f"    server {s};\n" for s in upstream_servers)
        self.site_path.write_text(f"upstream {self.upstream} {{\n{servers}}}\n")

    def start(self, upstream_servers: list[str] | None = None) -> None:
        if not self.site_path.exists():
            self.write_config(upstream_servers or ["127.0.0.1:9"])
        done = subprocess.run([NGINX, *self._args()], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"nginx failed to start: {done.stderr}\n{self.error_log()}")
        deadline = time.monotonic() + 10
        while not port_open(self.port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not listen on {self.port}:\n{self.error_log()}")
            time.sleep(0.02)

    def master_pid(self) -> int | None:
        try:
            return int((self.dir / "nginx.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def error_log(self) -> str:
        path = self.dir / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        pid = self.master_pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGQUIT)  # graceful, like nginx -s quit
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not running(pid):
                return
            time.sleep(0.02)
        os.kill(pid, signal.SIGKILL)


def nginx_server(upstream_servers: list[str] | None = None, upstream: str = "atl_backend") -> NginxServer:
    """A started nginx in a fresh temp dir (stop() it; the dir is left for the caller to remove)."""
    server = NginxServer(Path(tempfile.mkdtemp(prefix="atl-nginx-")), upstream=upstream)
    server.start(upstream_servers)
    return server
