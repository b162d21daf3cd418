"""Test-only handlers, registered in the real registry under `test.*` names.

They let the loader tests state exactly which params are valid without depending on the real
handlers' models; the shipped-runbook tests use the real handlers.
"""

from typing import Literal

from pydantic import Field

from handlers.registry import REGISTRY, Params, StepContext, StepResult, handler


class EchoParams(Params):
    text: str
    count: int = 1
    colour: Literal["blue", "green"] | None = None
    argv: list[str] = Field(default_factory=list)
    ports: dict[str, int] = Field(default_factory=dict)


class ProbeParams(Params):
    url: str


if "test.echo" not in REGISTRY:

    @handler("test.echo")
    async def echo(params: EchoParams, ctx: StepContext) -> StepResult:
        """Echo text (test only)."""
        return StepResult(ok=True, summary=params.text * params.count)

    @handler("test.probe")
    async def probe(params: ProbeParams, ctx: StepContext) -> StepResult:
        """Report a colour (test only)."""
        return StepResult(ok=True, summary="probed", outputs={"colour": "green", "idle_colour": "blue"})
