"""`engine:` — who may confirm and abort, the environment lock, and where step output goes."""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from bot.runbooks.duration import Duration
from bot.runbooks.schema import Role


class EngineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Who may click Confirm/Approve on a dangerous step (admins always may). Under an environment's
    # two-person rule the requester never may; without it the requester may confirm their own step.
    confirm_roles: list[Role] = ["approver"]
    # Who may abort a run besides its requester (admins always may).
    abort_roles: list[Role] = ["deployer", "approver"]
    # The per-environment Redis lock: held for this long and renewed every third of it while steps run.
    lock_ttl: Duration = Field(default=60.0, gt=1)
    # Step output up to this many characters goes in the thread as a code block; more is uploaded as a file.
    inline_output_chars: int = Field(default=2500, ge=200, le=2900)
    # Runbooks to load instead of the shipped runbooks/ directory.
    runbooks_dir: Path | None = None
