"""pm2 with a PM2_HOME of its own and a tiny node app (tests/stack/pm2app) released as v0.9.0 and v1.0.0.

pm2 picks its daemon by PM2_HOME from the environment, so the fixture sets PM2_HOME for the session
(the handlers inherit it, as they would an operator's shell) and `pm2 kill`s that daemon afterwards.
"""

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness.net import free_port
from tests.stack.gitrepo import TaggedRepo, tagged_repo

PM2 = shutil.which("pm2") or "/usr/bin/pm2"
PM2_SOURCE = Path(__file__).parent / "pm2app"
PM2_RELEASES = {"v0.9.0": {"VERSION": "v0.9.0\n"}, "v1.0.0": {"VERSION": "v1.0.0\n"}}


def pm2(home: Path, *args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PM2_HOME": str(home), "NO_COLOR": "1"}
    return subprocess.run([PM2, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False)


def ecosystem(app_name: str, app_dir: Path, port: int) -> str:
    """An ecosystem file as the runbook's `pm2 start ecosystem.config.js --env production` expects."""
    config = {
        "apps": [{
            "name": app_name, "script": "dist/server.js", "cwd": str(app_dir), "autorestart": False,
            "env": {"PORT": str(port), "APP_ENV": "development"},
            "env_production": {"PORT": str(port), "APP_ENV": "production"},
        }],
    }
    return f"module.exports = {json.dumps(config, indent=2)};\n"


@dataclass
class Pm2App:
    """A checkout of the pm2 test app with its ecosystem file, and the pm2 home that runs it."""

    home: Path
    root: Path
    repo: TaggedRepo
    app_dir: Path
    app_name: str = "audio-tai-loc"
    port: int = field(default_factory=free_port)

    @property
    def ecosystem_path(self) -> Path:
        return self.app_dir / "ecosystem.config.js"

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/health"

    def pm2(self, *args: str) -> subprocess.CompletedProcess[str]:
        return pm2(self.home, *args, cwd=self.app_dir)

    def jlist(self) -> list[dict[str, object]]:
        done = self.pm2("jlist")
        return list(json.loads(done.stdout[done.stdout.find("["):]))

    def build(self) -> None:
        subprocess.run(["npm", "run", "build"], cwd=self.app_dir, capture_output=True, check=True, timeout=60)


def make_pm2_home() -> Path:
    # Short: pm2's rpc/pub unix sockets live in PM2_HOME and must fit in sun_path.
    return Path(tempfile.mkdtemp(prefix="atl-pm2-"))


def kill_pm2(home: Path) -> None:
    pm2(home, "kill", timeout=30)
    shutil.rmtree(home, ignore_errors=True)


def pm2_app(home: Path, *, ref: str = "v0.9.0", app_name: str = "audio-tai-loc") -> Pm2App:
    """The app checked out at `ref`, built, with an ecosystem file (not started)."""
    root = Path(tempfile.mkdtemp(prefix="atl-pm2app-"))
    repo = tagged_repo(root / "repo", PM2_SOURCE, PM2_RELEASES)
    app_dir = repo.clone(root / "audio-tai-loc", ref)
    app = Pm2App(home=home, root=root, repo=repo, app_dir=app_dir, app_name=app_name)
    app.ecosystem_path.write_text(ecosystem(app_name, app_dir, app.port))
    app.build()
    return app
