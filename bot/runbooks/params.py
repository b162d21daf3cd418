"""Runbook parameters from what a person typed (`--var version=v1.0.0`, `/deploy v1.0.0`) to typed values."""

from collections.abc import Mapping
from typing import Any

from bot.runbooks.schema import ParameterError, Runbook, StringParameter
from bot.runbooks.template import Pending, Scope, TemplateError, render_string


def usage(runbook: Runbook) -> str:
    """`--var version=v1.0.0 [--var restore_database=false]`-style form for error messages."""
    words = []
    for name, spec in runbook.parameters.items():
        example = spec.hint.split("e.g. ")[-1] if spec.hint and "e.g. " in spec.hint else spec.type.upper()
        word = f"--var {name}={example}"
        words.append(word if spec.required else f"[{word}]")
    return f"atl-bot runbooks plan {runbook.id} " + " ".join(words)


def bind(runbook: Runbook, raw: Mapping[str, Any], env: Mapping[str, Any] | None) -> dict[str, Any]:
    """Typed values for every parameter (None for optional ones left unset); ParameterError otherwise."""
    unknown = sorted(set(raw) - set(runbook.parameters))
    if unknown:
        takes = ", ".join(runbook.parameters) or "no parameters"
        raise ParameterError(f"{runbook.id} has no parameter {unknown[0]!r} (it takes: {takes})")
    values: dict[str, Any] = {}
    for name, spec in runbook.parameters.items():
        if name in raw:
            pattern = _pattern(spec, env) if isinstance(spec, StringParameter) else None
            values[name] = spec.coerce(name, raw[name], pattern)
        elif spec.default is not None:
            values[name] = spec.default
        elif spec.required:
            hint = f" ({spec.hint})" if spec.hint else ""
            raise ParameterError(f"{name} is required{hint}")
        else:
            values[name] = None
    return values


def _pattern(spec: StringParameter, env: Mapping[str, Any] | None) -> str | None:
    if spec.pattern is None:
        return None
    try:
        pattern = render_string(spec.pattern, Scope(params={}, env=env))
    except TemplateError as exc:
        raise ParameterError(f"cannot check the value: {exc}") from exc
    return None if isinstance(pattern, Pending) else str(pattern)
