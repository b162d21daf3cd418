"""git.fetch, git.verify_tag, git.checkout on a clone of a local origin with release tags."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from handlers.git import CheckoutParams, FetchParams, VerifyTagParams, checkout, fetch, verify_tag
from handlers.registry import StepContext
from tests.stack.gitrepo import TaggedRepo, git


@pytest.fixture
def blue_dir(app_repo_dir: TaggedRepo) -> Path:
    """/app/audio-tai-loc-blue: a checkout that last deployed v0.9.0."""
    return app_repo_dir.clone(app_repo_dir.work.parent / "audio-tai-loc-blue", "v0.9.0")


async def test_fetch_brings_a_tag_released_after_the_clone(app_repo_dir: TaggedRepo, blue_dir: Path) -> None:
    app_repo_dir.release("v1.0.1", {"app/VERSION": "v1.0.1\n"})
    missing = await verify_tag(VerifyTagParams(repo_dir=str(blue_dir), tag="v1.0.1"), StepContext())
    assert not missing.ok
    assert "does not exist" in missing.summary

    fetched = await fetch(FetchParams(repo_dir=str(blue_dir)), StepContext())
    assert fetched.ok, fetched.output

    found = await verify_tag(VerifyTagParams(repo_dir=str(blue_dir), tag="v1.0.1"), StepContext())
    assert found.ok
    assert found.outputs["commit"] == app_repo_dir.tag_commit("v1.0.1")


async def test_checkout_of_a_tag_moves_head_to_its_commit(app_repo_dir: TaggedRepo, blue_dir: Path) -> None:
    result = await checkout(CheckoutParams(repo_dir=str(blue_dir), ref="refs/tags/v1.0.0"), StepContext())
    assert result.ok, result.output
    assert result.outputs["commit"] == app_repo_dir.tag_commit("v1.0.0")
    assert git(blue_dir, "rev-parse", "HEAD") == app_repo_dir.tag_commit("v1.0.0")
    assert (blue_dir / "app" / "VERSION").read_text().strip() == "v1.0.0"


async def test_checkout_of_an_unknown_ref_fails_and_leaves_head(app_repo_dir: TaggedRepo, blue_dir: Path) -> None:
    result = await checkout(CheckoutParams(repo_dir=str(blue_dir), ref="refs/tags/v9.9.9"), StepContext())
    assert not result.ok
    assert "git checkout refs/tags/v9.9.9" in result.summary
    assert git(blue_dir, "rev-parse", "HEAD") == app_repo_dir.tag_commit("v0.9.0")


async def test_fetch_from_an_unreachable_remote_fails(blue_dir: Path) -> None:
    git(blue_dir, "remote", "set-url", "origin", str(blue_dir.parent / "gone.git"))
    result = await fetch(FetchParams(repo_dir=str(blue_dir)), StepContext())
    assert not result.ok
    assert "gone.git" in result.output


async def test_verify_tag_refuses_a_branch_name(blue_dir: Path) -> None:
    result = await verify_tag(VerifyTagParams(repo_dir=str(blue_dir), tag="main"), StepContext())
    assert not result.ok


@pytest.mark.parametrize("ref", ["--upload-pack=touch /tmp/x", "-b", "v1.0.0 --force", ""])
def test_option_like_or_spaced_refs_are_refused(ref: str) -> None:
    with pytest.raises(ValidationError):
        CheckoutParams(repo_dir="/app", ref=ref)
    with pytest.raises(ValidationError):
        VerifyTagParams(repo_dir="/app", tag=ref)
