"""Load-time checks of what templates refer to: declared parameters, earlier steps, real env keys."""

import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel

from bot.config.environments import EnvironmentConfig
from bot.runbooks.expr import Index, Path, parse_condition
from bot.runbooks.schema import Runbook, Step
from bot.runbooks.template import Scope, TemplateError, references, resolve


def _unwrap(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        if len(options) == 1:
            return _unwrap(options[0])
    return tp


def env_path_problem(path: Path) -> str | None:
    """Why `env.…` names no key of EnvironmentConfig, or None when it can exist."""
    tp: Any = EnvironmentConfig
    trail = "env"
    for part in path.parts:
        tp = _unwrap(tp)
        key = part.key if isinstance(part, Index) else part
        label = f"[{key}]" if isinstance(key, Path) else repr(key)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if isinstance(key, Path):
                return f"{trail} has fixed keys; {label} cannot pick one"
            if tp is EnvironmentConfig and key == "name":
                tp = str
            elif key not in tp.model_fields:
                return f"{trail} has no {label} (it has {', '.join(tp.model_fields)})"
            else:
                tp = tp.model_fields[str(key)].annotation
        elif typing.get_origin(tp) is dict:
            key_type, tp = typing.get_args(tp)
            key_type = _unwrap(key_type)
            allowed = typing.get_args(key_type) if typing.get_origin(key_type) is typing.Literal else ()
            if allowed and not isinstance(key, Path) and key not in allowed:
                return f"{trail} has no {label} (it has {', '.join(map(str, allowed))})"
        elif typing.get_origin(tp) is list:
            if isinstance(key, str):
                return f"{trail} is a list; it has no {label}"
            tp = typing.get_args(tp)[0]
        elif tp is Any:
            return None
        else:
            return f"{trail} is a {getattr(tp, '__name__', tp)}; it has no {label}"
        trail += f".{key}" if isinstance(part, str) else f"[{key}]"
    return None


def _paths(step: Step) -> Iterator[tuple[str, Path]]:
    for field, value in (("params", step.params), ("confirm_text", step.confirm_text), ("delay", step.delay)):
        for path in references(value):
            yield field, path
    if step.when is not None:
        for path in parse_condition(step.when).path.paths():
            yield "when", path


def reference_problems(runbook: Runbook, thresholds: Mapping[str, Any]) -> Iterator[tuple[int | None, str, str]]:
    """(step index or None for parameters, field, reason) for every reference that cannot resolve."""
    for name, spec in runbook.parameters.items():
        for path in references(getattr(spec, "pattern", None)):
            if path.root != "env":
                yield None, f"parameters.{name}.pattern", f"{path}: a pattern may only use env.…"
            elif (why := env_path_problem(path)) is not None:
                yield None, f"parameters.{name}.pattern", why
    earlier: set[str] = set()
    later = set(runbook.step_ids)
    for index, step in enumerate(runbook.steps):
        later.discard(step.id)
        for field, path in _paths(step):
            why = _problem(path, runbook, earlier, later, step.id, thresholds)
            if why is not None:
                yield index, field, why
        earlier.add(step.id)


def _problem(
    path: Path, runbook: Runbook, earlier: set[str], later: set[str], own: str, thresholds: Mapping[str, Any]
) -> str | None:
    if path.root == "params":
        name = path.parts[0] if path.parts else None
        if name not in runbook.parameters:
            declared = ", ".join(runbook.parameters) or "none"
            return f"{path}: no parameter {name!r} is declared (declared: {declared})"
        return None
    if path.root == "env":
        return env_path_problem(path)
    if path.root == "thresholds":
        try:
            resolve(path, Scope(params={}, env=None, thresholds=thresholds))
        except TemplateError as exc:
            return str(exc)
        return None
    step = path.root
    if path.root == "steps":
        step = str(path.parts[0]) if path.parts else ""
        if len(path.parts) < 3 or path.parts[1] != "outputs":
            return f"{path}: expected steps.STEP_ID.outputs.KEY"
    elif not path.parts:
        return f"{path}: expected {path.root}.KEY (an output of step {path.root})"
    if step in earlier:
        return None
    if step == own:
        return f"{path}: a step cannot use its own outputs"
    if step in later:
        return f"{path}: step {step!r} runs later, its outputs are not known yet"
    return f"{path}: unknown name {step!r} (expected params, env, steps or an earlier step's id)"
