"""Rendered params against a handler's Params model; pending values are not judged until known."""

from typing import Any

from pydantic import ValidationError

from bot.runbooks.template import unresolved
from handlers.registry import Handler, Params


class StepParamsError(ValueError):
    """Params a handler refuses; the message names the step's handler, the param and the reason."""


def _where(loc: tuple[Any, ...]) -> str:
    return "params" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)


def _reason(handler: Handler, err: Any) -> str:
    if err["type"] == "extra_forbidden":
        known = ", ".join(handler.params.model_fields) or "none"
        return f"unknown param for {handler.name} (it takes: {known})"
    if err["type"] == "missing":
        return f"required by {handler.name} but not given"
    return str(err["msg"])


def param_problems(handler: Handler, rendered: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """(location inside params, reason) for each value the handler refuses, ignoring pending ones."""
    pending = list(unresolved(rendered))
    try:
        handler.params.model_validate(rendered)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            if any(loc[: len(p)] == p for p in pending):
                continue  # a `<from step X>` value: judged when the step actually runs
            problems.append((loc, f"{_where(loc)}: {_reason(handler, err)}"))
        return problems
    return []


def build_params(handler: Handler, rendered: dict[str, Any]) -> Params:
    """The handler's Params for fully rendered values (run time); StepParamsError otherwise."""
    try:
        return handler.params.model_validate(rendered)
    except ValidationError as exc:
        reasons = [f"{_where(tuple(e['loc']))}: {_reason(handler, e)}" for e in exc.errors()]
        raise StepParamsError(f"{handler.name}: " + "; ".join(reasons)) from exc
