"""One step made concrete for a scope: its condition, params, confirmation text and delay.

Plans call this with `final=False` (unknowns stay Pending); the engine calls it with `final=True`
just before running the step, after the earlier steps' outputs are in `scope.steps`.
"""

from dataclasses import dataclass
from typing import Any

from bot.runbooks.duration import parse_duration
from bot.runbooks.schema import Step
from bot.runbooks.template import (
    NotSetError,
    Pending,
    PendingText,
    Scope,
    TemplateError,
    evaluate,
    render,
    render_text,
)


class StepRenderError(ValueError):
    """A step's templates could not render; the message names the step and the expression."""

    def __init__(self, message: str, not_set: bool = False) -> None:
        super().__init__(message)
        self.not_set = not_set  # something the environment does not configure, not a mistake in the runbook


@dataclass(frozen=True)
class PreparedStep:
    step: Step
    run: bool | Pending  # False: `when` is false, the step is skipped; Pending: decided at run time
    params: dict[str, Any]
    confirm_text: str | None
    delay_s: float | Pending | None


def prepare(step: Step, scope: Scope) -> PreparedStep:
    try:
        run = True if step.when is None else evaluate(step.when, scope)
        if run is False:
            return PreparedStep(step, False, {}, None, None)
        params = render(step.params, scope)
        confirm = None if step.confirm_text is None else render_text(step.confirm_text, scope)
        delay = _delay(step.delay, scope)
    except TemplateError as exc:
        raise StepRenderError(f"step {step.id}: {exc}", isinstance(exc, NotSetError)) from exc
    return PreparedStep(step, run, params, confirm, delay)


def _delay(value: float | str | None, scope: Scope) -> float | Pending | None:
    if value is None or isinstance(value, float):
        return value
    rendered = render(value, scope)
    if isinstance(rendered, Pending | PendingText):
        return Pending(str(rendered).strip("<>"))
    try:
        return parse_duration(rendered)
    except ValueError as exc:
        raise TemplateError(f"delay {value!r}: {exc}") from exc
