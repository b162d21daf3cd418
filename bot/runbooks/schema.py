"""The shape of a runbook file (`runbooks/deploy-*.yml`, `rollback-*.yml`, `maint-*.yml`).

    id: deploy-blue-green            # equals the file name
    title: Blue-green deployment
    role: deployer                   # deployer | approver | admin: who may start it
    parameters:
      version: {type: string, required: true, pattern: "{{ env.tag_pattern }}", hint: "…"}
    steps:
      - id: switch                   # used by later steps: {{ steps.switch.outputs.colour }}
        name: Switch traffic
        handler: nginx.switch        # a name in handlers.registry.REGISTRY
        params: {colour: "{{ live.idle_colour }}", …}
        dangerous: true              # pauses for a confirmation (and approval under the two-person rule)
        confirm_text: "Switch {{ env.name }} traffic from … to …"
        timeout: 2m
        on_failure: stop             # stop | continue | {rollback: rollback-immediate}
        when: not env.pm2.use_deploy # optional condition; the step is skipped when false
        delay: "{{ env.cleanup_after }}"  # optional: a follow-up that runs this long after the previous step
"""

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from bot.runbooks.duration import Duration, parse_duration
from bot.runbooks.expr import ExprError, parse_condition
from bot.runbooks.template import RESERVED, TemplateError, parse_template, references

RunbookId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,63}$")]
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
HandlerName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")]
Role = Literal["deployer", "approver", "admin"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParameterError(ValueError):
    """A value refused for a runbook parameter; the message names it and the form expected."""


class _Parameter(Strict):
    description: str = ""
    required: bool = False
    hint: str | None = None  # the correct form, shown when a value is refused ("e.g. v1.0.0")

    def refuse(self, name: str, value: Any, why: str) -> ParameterError:
        hint = f" (expected {self.hint})" if self.hint else ""
        return ParameterError(f"{name}: {value!r} {why}{hint}")

    @model_validator(mode="after")
    def _required_has_no_default(self) -> "_Parameter":
        if self.required and getattr(self, "default", None) is not None:
            raise ValueError("a required parameter cannot have a default")
        return self


class StringParameter(_Parameter):
    type: Literal["string"]
    default: str | None = None
    pattern: str | None = None  # may be a template, e.g. "{{ env.tag_pattern }}"

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None and "{{" not in value:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a regular expression: {exc}") from exc
        return value

    def coerce(self, name: str, value: Any, pattern: str | None) -> str:
        if not isinstance(value, str):
            raise self.refuse(name, value, "is not text")
        if pattern is not None and re.fullmatch(pattern, value) is None:
            raise self.refuse(name, value, f"does not match {pattern}")
        return value


class EnumParameter(_Parameter):
    type: Literal["enum"]
    choices: list[str] = Field(min_length=1)
    default: str | None = None

    @model_validator(mode="after")
    def _default_is_a_choice(self) -> "EnumParameter":
        if self.default is not None and self.default not in self.choices:
            raise ValueError(f"default {self.default!r} is not one of {self.choices}")
        return self

    def coerce(self, name: str, value: Any, pattern: str | None = None) -> str:
        if value not in self.choices:
            raise self.refuse(name, value, f"is not one of {', '.join(self.choices)}")
        return str(value)


_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


class BoolParameter(_Parameter):
    type: Literal["bool"]
    default: bool | None = None

    def coerce(self, name: str, value: Any, pattern: str | None = None) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise self.refuse(name, value, "is not true or false")


class IntParameter(_Parameter):
    type: Literal["int"]
    default: int | None = None
    min: int | None = None
    max: int | None = None

    def coerce(self, name: str, value: Any, pattern: str | None = None) -> int:
        if isinstance(value, bool):
            raise self.refuse(name, value, "is not a whole number")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise self.refuse(name, value, "is not a whole number") from None
        if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
            raise self.refuse(name, value, f"is outside {self.min}..{self.max}")
        return number


Parameter = Annotated[
    StringParameter | EnumParameter | BoolParameter | IntParameter, Field(discriminator="type")
]


class RollbackOnFailure(Strict):
    rollback: RunbookId


OnFailure = Literal["stop", "continue"] | RollbackOnFailure


def describe_on_failure(value: OnFailure) -> str:
    return value if isinstance(value, str) else f"offer {value.rollback}"


def _check_templates(value: Any) -> None:
    try:
        list(references(value))
    except TemplateError as exc:
        raise ValueError(str(exc)) from exc


class Step(Strict):
    id: Name
    name: str = Field(min_length=1)
    handler: HandlerName
    params: dict[str, Any] = Field(default_factory=dict)
    dangerous: bool = False
    confirm_text: str | None = None  # what exactly will happen, shown on the confirm button's dialog
    timeout: Duration = 300.0
    on_failure: OnFailure = "stop"
    when: str | None = None
    delay: float | str | None = None  # seconds, "24h", or a template like "{{ env.cleanup_after }}"

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED:
            raise ValueError(f"{value!r} is reserved in templates; choose another step id")
        return value

    @field_validator("params")
    @classmethod
    def _params_parse(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_templates(value)
        return value

    @field_validator("when")
    @classmethod
    def _when_parses(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_condition(value)
            except ExprError as exc:
                example = "`params.restore_database` or `not env.pm2.use_deploy`"
                raise ValueError(f"{exc} (expected e.g. {example})") from exc
        return value

    @field_validator("delay")
    @classmethod
    def _delay(cls, value: float | str | None) -> float | str | None:
        if isinstance(value, str) and "{{" in value:
            _check_templates(value)
            return value
        return None if value is None else parse_duration(value)

    @model_validator(mode="after")
    def _confirmation(self) -> "Step":
        if self.dangerous and not self.confirm_text:
            raise ValueError("a dangerous step needs confirm_text saying exactly what will happen")
        if self.confirm_text and not self.dangerous:
            raise ValueError("confirm_text is only used on dangerous steps (add dangerous: true)")
        if self.confirm_text:
            _check_templates(self.confirm_text)
        return self


class Runbook(Strict):
    id: RunbookId
    title: str = Field(min_length=1)
    description: str = ""
    role: Role
    parameters: dict[Name, Parameter] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1)

    @field_validator("steps")
    @classmethod
    def _unique_ids(cls, steps: list[Step]) -> list[Step]:
        seen: set[str] = set()
        for step in steps:
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} is used twice")
            seen.add(step.id)
        return steps

    @property
    def step_ids(self) -> frozenset[str]:
        return frozenset(step.id for step in self.steps)

    @property
    def dangerous(self) -> bool:
        return any(step.dangerous for step in self.steps)


__all__ = [
    "BoolParameter",
    "EnumParameter",
    "IntParameter",
    "OnFailure",
    "Parameter",
    "ParameterError",
    "RollbackOnFailure",
    "Runbook",
    "Step",
    "StringParameter",
    "describe_on_failure",
    "parse_template",
]
