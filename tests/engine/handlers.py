"""A test-only step handler, `enginetest.step`, registered in the real registry.

Each call is counted by name; a test can hold a step at a gate (to abort between steps, or to see what is
persisted while a step runs) and decide whether it succeeds. Without a gate a step succeeds at once.
"""

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from pydantic import Field

from handlers.registry import REGISTRY, Params, StepContext, StepResult, handler

CALLS: Counter[str] = Counter()


@dataclass
class Gate:
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    ok: bool = True
    summary: str = ""

    def open(self, ok: bool = True, summary: str = "") -> None:
        self.ok, self.summary = ok, summary
        self.release.set()


GATES: dict[str, Gate] = {}


def gate(name: str) -> Gate:
    GATES[name] = Gate()
    return GATES[name]


def reset() -> None:
    CALLS.clear()
    for held in GATES.values():
        held.open()
    GATES.clear()


class StepParams(Params):
    name: str
    outputs: dict[str, str] = Field(default_factory=dict)
    output_chars: int = 0


if "enginetest.step" not in REGISTRY:

    @handler("enginetest.step")
    async def step(params: StepParams, ctx: StepContext) -> StepResult:
        """Count the call; wait at the step's gate if a test set one (test only)."""
        CALLS[params.name] += 1
        held = GATES.get(params.name)
        ok, summary = True, f"{params.name} done"
        if held is not None:
            held.entered.set()
            await held.release.wait()
            ok, summary = held.ok, held.summary or (f"{params.name} done" if held.ok else f"{params.name} failed")
        output = "".join(f"{params.name} line {i:05d}\n" for i in range(params.output_chars // 10 + 1))
        return StepResult(ok=ok, summary=summary, output=output[: params.output_chars] if params.output_chars else
                          f"{params.name} said hello", outputs=params.outputs)
