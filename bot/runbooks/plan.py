"""What a runbook would do, step by step, with parameters filled in — without running or contacting anything.

The same Plan renders to the terminal (render_cli) and to Slack (bot.slack.plan_blocks).
"""

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from bot.runbooks import params as runbook_params
from bot.runbooks.check import param_problems
from bot.runbooks.loader import Catalogue, UnknownEnvironmentError, UnknownRunbookError
from bot.runbooks.prepare import StepRenderError, prepare
from bot.runbooks.schema import ParameterError, Step, describe_on_failure
from bot.runbooks.template import RESERVED, Pending, Scope, displayable, references
from handlers.registry import Handler


class PlanError(ValueError):
    """Why no plan can be made (bad parameter, unknown environment, …) and the correct form."""


class PlannedStep(BaseModel):
    number: int
    id: str
    name: str
    handler: str
    params: dict[str, Any]  # `<from step X>` where the value is only known at run time
    dangerous: bool
    confirm_text: str | None
    timeout_s: float
    on_failure: str
    when: str | None
    will_run: bool | None  # None: `when` depends on an earlier step, decided at run time
    delay_s: float | None
    delay_pending: str | None = None
    waits_for: list[str] = []  # earlier steps whose outputs this step uses


class Plan(BaseModel):
    runbook_id: str
    title: str
    description: str
    environment: str
    role: str
    two_person_rule: bool
    confirmation_ttl_s: float
    params: dict[str, Any]
    steps: list[PlannedStep]

    @property
    def dangerous_steps(self) -> list[PlannedStep]:
        return [step for step in self.steps if step.dangerous and step.will_run is not False]


def build_plan(catalogue: Catalogue, runbook_id: str, raw_vars: Mapping[str, Any], environment: str) -> Plan:
    """The plan, or PlanError saying what is wrong and the correct form. Runs nothing."""
    try:
        runbook = catalogue.get(runbook_id)
        env_values = catalogue.env_values(environment)
    except (UnknownRunbookError, UnknownEnvironmentError) as exc:
        raise PlanError(str(exc)) from exc
    problems = catalogue.problems_of(runbook_id)
    if problems:
        raise PlanError(f"runbook {runbook_id} is invalid: {problems[0]} (run `atl-bot runbooks validate`)")
    missing = catalogue.unavailable_in(runbook_id, environment)
    if missing:
        raise PlanError(f"{runbook_id} cannot run in {environment}: {missing} (configure it under "
                        f"environments.{environment})")
    config = catalogue.environments[environment]
    try:
        values = runbook_params.bind(runbook, raw_vars, env_values)
    except ParameterError as exc:
        raise PlanError(f"{exc}. Correct form: {runbook_params.usage(runbook)}") from exc
    scope = catalogue.scope(runbook, environment, values)
    try:
        steps = [_planned(number, step, scope, catalogue.registry) for number, step in enumerate(runbook.steps, 1)]
    except StepRenderError as exc:
        hint = f" (configure it under environments.{environment})" if exc.not_set else ""
        raise PlanError(f"{runbook_id} cannot run in {environment}: {exc}{hint}") from exc
    return Plan(
        runbook_id=runbook.id,
        title=runbook.title,
        description=runbook.description,
        environment=environment,
        role=runbook.role,
        two_person_rule=bool(config.two_person_rule),
        confirmation_ttl_s=config.confirmation_ttl,
        params=values,
        steps=steps,
    )


def _planned(number: int, step: Step, scope: Scope, registry: Mapping[str, Handler]) -> PlannedStep:
    prepared = prepare(step, scope)
    if prepared.run is not False:
        handler = registry.get(step.handler)
        if handler is None:
            raise PlanError(f"step {step.id}: unknown handler {step.handler!r}")
        problems = param_problems(handler, prepared.params)
        if problems:
            raise PlanError(f"step {step.id} ({step.handler}): " + "; ".join(reason for _, reason in problems))
    delay = prepared.delay_s
    return PlannedStep(
        number=number,
        id=step.id,
        name=step.name,
        handler=step.handler,
        params=displayable(prepared.params),
        dangerous=step.dangerous,
        confirm_text=prepared.confirm_text,
        timeout_s=step.timeout,
        on_failure=describe_on_failure(step.on_failure),
        when=step.when,
        will_run=None if isinstance(prepared.run, Pending) else prepared.run,
        delay_s=None if isinstance(delay, Pending) else delay,
        delay_pending=str(delay) if isinstance(delay, Pending) else None,
        waits_for=_waits_for(step),
    )


def _waits_for(step: Step) -> list[str]:
    found = set()
    for path in references([step.params, step.confirm_text, step.delay]):
        if path.root == "steps" and path.parts:
            found.add(str(path.parts[0]))
        elif path.root not in RESERVED:
            found.add(path.root)
    return sorted(found)
