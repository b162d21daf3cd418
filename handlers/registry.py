"""`@handler("nginx.switch")`: the step-handler registry, checked when a handler is registered.

A handler is an `async def fn(params: SomeParams, ctx: StepContext) -> StepResult` where SomeParams is a
pydantic model. Registration refuses anything else, so a bad handler fails at import, not mid-incident.
"""

import inspect
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict


class Params(BaseModel):
    """Base for handler params: unknown keys are typos, so they are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class StepContext:
    """What a running step may know about its run; no Slack, no bot store."""

    run_id: int | None = None
    environment: str = "production"
    timeout_s: float = 300.0
    # Values that must never appear in output (tokens, passwords); handlers redact them.
    secrets: list[str] = field(default_factory=list)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "[redacted]")
        return text


class StepResult(BaseModel):
    """What a step did: ok or not, a one-line summary, output for the thread, outputs for later steps."""

    ok: bool
    summary: str
    output: str = ""
    outputs: dict[str, Any] = {}


HandlerFn = Callable[[Any, StepContext], Awaitable[StepResult]]


@dataclass(frozen=True)
class Handler:
    name: str
    params: type[Params]
    fn: HandlerFn
    description: str


REGISTRY: dict[str, Handler] = {}


def handler(name: str) -> Callable[[HandlerFn], HandlerFn]:
    def register(fn: HandlerFn) -> HandlerFn:
        if name in REGISTRY:
            raise TypeError(f"handler {name!r} is registered twice")
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"handler {name!r} must be an async def")
        hints = typing.get_type_hints(fn)
        args = list(inspect.signature(fn).parameters)
        if len(args) != 2:
            raise TypeError(f"handler {name!r} must take (params, ctx)")
        params = hints.get(args[0])
        if not (isinstance(params, type) and issubclass(params, Params)):
            raise TypeError(f"handler {name!r}: first parameter must be annotated with a Params model")
        if hints.get(args[1]) is not StepContext:
            raise TypeError(f"handler {name!r}: second parameter must be annotated StepContext")
        if hints.get("return") is not StepResult:
            raise TypeError(f"handler {name!r} must return StepResult")
        doc = (inspect.getdoc(fn) or "").splitlines()
        REGISTRY[name] = Handler(name, params, fn, doc[0] if doc else "")
        return fn

    return register


def load_all() -> dict[str, Handler]:
    """Import every handler module so each registers itself."""
    import importlib
    import pkgutil

    import handlers

    for info in pkgutil.iter_modules(handlers.__path__):
        if info.name != "registry" and not info.name.startswith("_"):
            importlib.import_module(f"handlers.{info.name}")
    return REGISTRY
