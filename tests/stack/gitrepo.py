"""Local git repositories with release tags: a bare "origin" and clones to fetch from it, as on the server.

`app_repo()` is the test app (tests/stack/app) released as:
- v0.9.0        one migration (create orders)
- v1.0.0        a second migration (add order status)
- v1.1.0-broken a release whose /health/detailed is missing (404): a deploy must stop before the switch
"""

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.stack.images import APP_SOURCE

GIT_ENV = {
    "GIT_AUTHOR_NAME": "atl test", "GIT_AUTHOR_EMAIL": "test@atl.invalid",
    "GIT_COMMITTER_NAME": "atl test", "GIT_COMMITTER_EMAIL": "test@atl.invalid",
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0",
}

ADD_STATUS_UP = "ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new';\n"
ADD_STATUS_DOWN = "ALTER TABLE orders DROP COLUMN status;\n"

# Files that differ per release, on top of tests/stack/app; each release builds on the one before.
APP_RELEASES: dict[str, dict[str, str]] = {
    "v0.9.0": {"app/VERSION": "v0.9.0\n"},
    "v1.0.0": {
        "app/VERSION": "v1.0.0\n",
        "app/migrations/20240301120000-add-order-status.up.sql": ADD_STATUS_UP,
        "app/migrations/20240301120000-add-order-status.down.sql": ADD_STATUS_DOWN,
    },
    "v1.1.0-broken": {"app/VERSION": "v1.1.0-broken\n", "app/HEALTH": "fail\n"},
}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} in {cwd} failed: {done.stderr.strip()}")
    return done.stdout.strip()


@dataclass(frozen=True)
class TaggedRepo:
    origin: Path  # bare repository, the remote every clone fetches from
    work: Path  # where releases are committed and tagged

    def clone(self, path: Path, ref: str | None = None) -> Path:
        """A checkout with `origin` as its remote (e.g. /app/audio-tai-loc-blue), optionally at a ref."""
        git(path.parent, "clone", "--quiet", str(self.origin), str(path))
        if ref:
            git(path, "-c", "advice.detachedHead=false", "checkout", "--quiet", ref)
        return path

    def release(self, tag: str, files: Mapping[str, str]) -> str:
        """Commit `files` on main, tag it, push both to origin; returns the commit."""
        for name, content in files.items():
            target = self.work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        git(self.work, "add", "--all")
        git(self.work, "commit", "--quiet", "--allow-empty", "-m", f"Release {tag}")
        git(self.work, "tag", "-a", tag, "-m", tag)
        git(self.work, "push", "--quiet", "origin", "main", tag)
        return git(self.work, "rev-parse", "HEAD")

    def tag_commit(self, tag: str) -> str:
        return git(self.work, "rev-parse", f"refs/tags/{tag}^{{commit}}")


def tagged_repo(root: Path, source: Path | None, releases: Mapping[str, Mapping[str, str]]) -> TaggedRepo:
    """origin.git + work/ under `root`: `source` copied in, then each release committed and tagged."""
    root.mkdir(parents=True, exist_ok=True)
    origin, work = root / "origin.git", root / "work"
    git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    if source is not None:
        shutil.copytree(source, work, symlinks=True)
    else:
        work.mkdir()
    git(work, "init", "--quiet", "--initial-branch=main")
    git(work, "remote", "add", "origin", str(origin))
    repo = TaggedRepo(origin=origin, work=work)
    for tag, files in releases.items():
        repo.release(tag, files)
    return repo


def app_repo(root: Path) -> TaggedRepo:
    """The blue/green test app with its three releases."""
    return tagged_repo(root, APP_SOURCE, APP_RELEASES)
