"""Safe templating for runbook params: `{{ params.x }}`, `{{ env.x }}`, `{{ steps.<id>.outputs.<k> }}`.

A string that is exactly one `{{ expr }}` keeps the value's type (an int port, an argv list); any other
string interpolates text. `"{{ *expr }}"` as a list item splices a list into the surrounding list.
`{{ live.colour }}` is short for `{{ steps.live.outputs.colour }}` when `live` is a step of the runbook.
`{{ thresholds.application.error_rate }}` is a row of runbooks/thresholds.yml as a monitoring rule.

Rendering happens per step at run time (`final=True`: anything unresolved is an error, secrets are
revealed and collected for redaction). Plans render with `final=False`: what is not known yet becomes
`Pending`, shown as `<from step live>`, and secrets stay masked.
"""

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic import SecretStr

from bot.runbooks.expr import Condition, ExprError, Index, Path, parse_condition, parse_path

RESERVED = frozenset({"params", "env", "steps", "thresholds"})
_TAG = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
MASK = "**********"


class TemplateError(ValueError):
    """A template that cannot render: the message names the expression and what is wrong."""


class NotSetError(TemplateError):
    """A value the template needs is unset (None), e.g. an environment without a `pm2:` section."""


@dataclass(frozen=True)
class Pending:
    """A value not known until the run gets there (a step's output), or at load time (params, env)."""

    label: str

    def __str__(self) -> str:
        return f"<{self.label}>"


class PendingText(str):
    """Text with a `<from step X>` inside: shown as is, but not a real value yet."""

    __slots__ = ()


@dataclass(frozen=True)
class Expr:
    path: Path
    splat: bool
    source: str


@dataclass(frozen=True)
class Template:
    source: str
    parts: tuple["str | Expr", ...]

    @property
    def whole(self) -> Expr | None:
        """The expression when the string is exactly one `{{ … }}`."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Expr):
            return self.parts[0]
        return None


@lru_cache(maxsize=4096)
def parse_template(text: str) -> Template:
    parts: list[str | Expr] = []
    pos = 0
    for match in _TAG.finditer(text):
        if match.start() > pos:
            parts.append(text[pos : match.start()])
        inner = match.group(1).strip()
        splat = inner.startswith("*")
        try:
            path = parse_path(inner[1:] if splat else inner)
        except ExprError as exc:
            raise TemplateError(f"{{{{ {inner} }}}}: {exc}") from exc
        parts.append(Expr(path, splat, match.group()))
        pos = match.end()
    rest = text[pos:]
    if "{{" in rest or "}}" in rest:
        raise TemplateError(f"{text!r}: unbalanced {{{{ }}}} (expected e.g. {{{{ params.version }}}})")
    if rest:
        parts.append(rest)
    template = Template(text, tuple(parts))
    for part in parts:
        if isinstance(part, Expr) and part.splat and template.whole is None:
            raise TemplateError(f"{text!r}: {{{{ *… }}}} must be a whole list item on its own")
    return template


@dataclass
class Scope:
    """What templates can see while one runbook renders."""

    params: Mapping[str, Any]
    env: Mapping[str, Any] | None  # None: load-time check, env values are Pending
    steps: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # outputs of steps that ran
    step_ids: frozenset[str] = frozenset()
    thresholds: Mapping[str, Any] = field(default_factory=dict)  # component → id → monitoring rule
    final: bool = False
    secrets: list[str] = field(default_factory=list)  # revealed secrets, for the handlers to redact


def resolve(path: Path, scope: Scope) -> Any:
    """The value `path` names, or Pending; TemplateError when it names nothing."""
    root, parts = path.root, list(path.parts)
    if root == "params":
        name = parts.pop(0) if parts else None
        if not isinstance(name, str):
            raise TemplateError(f"{path}: expected params.NAME")
        if name not in scope.params:
            if scope.final:
                raise TemplateError(f"{path}: parameter {name!r} has no value")
            return Pending(f"params.{name}")
        value: Any = scope.params[name]
        trail = f"params.{name}"
    elif root == "env":
        if scope.env is None:
            return Pending(str(path))
        value, trail = scope.env, "env"
    elif root == "thresholds":
        value, trail = scope.thresholds, "thresholds"
    else:
        if root == "steps":
            if len(parts) < 2 or not isinstance(parts[0], str) or parts[1] != "outputs":
                raise TemplateError(f"{path}: expected steps.STEP_ID.outputs.KEY")
            step = parts[0]
            parts = parts[2:]
        elif root in scope.step_ids:
            step = root
        else:
            raise TemplateError(f"{path}: unknown name {root!r} (expected params, env, steps, thresholds or a step id)")
        if step not in scope.steps:
            if scope.final:
                raise TemplateError(f"{path}: step {step!r} has not run (it was skipped or comes later)")
            output = Path(step, tuple(parts))  # printed without the step: `colour`, `outputs[0]`…
            return Pending(f"from step {step}: {str(output)[len(step) + 1 :]}" if parts else f"from step {step}")
        value, trail = scope.steps[step], f"steps.{step}.outputs"
    return _walk(value, parts, trail, scope)


def _walk(value: Any, parts: list["str | Index"], trail: str, scope: Scope) -> Any:
    for position, part in enumerate(parts):
        key: Any = part
        if isinstance(part, Index):
            key = resolve(part.key, scope) if isinstance(part.key, Path) else part.key
            if isinstance(key, Pending):
                return _choices(value, parts[position + 1 :], trail, scope, key)
        value = _lookup(value, key, trail)
        trail += f".{part}" if isinstance(part, str) else f"[{key!r}]"
    return value


def _choices(value: Any, rest: list["str | Index"], trail: str, scope: Scope, key: Pending) -> Pending:
    """`env.colours[live.idle_colour].port` before `live` ran: `<from step live: 3002 or 3001>`."""
    if not isinstance(value, Mapping) or not value:
        return key
    options: list[str] = []
    for choice in value:
        option = _walk(value[choice], rest, f"{trail}[{choice!r}]", scope)
        if isinstance(option, Pending) or not isinstance(option, str | int | float):
            return key
        if str(option) not in options:
            options.append(str(option))
    source = key.label.split(":")[0]
    return Pending(f"{source}: {' or '.join(options)}")


def _lookup(value: Any, key: Any, trail: str) -> Any:
    if value is None:
        raise NotSetError(f"{trail} is not set, so it has no {key!r}")
    if isinstance(value, Mapping):
        if key not in value:
            known = ", ".join(sorted(map(str, value))) or "nothing"
            raise TemplateError(f"{trail} has no {key!r} (it has {known})")
        return value[key]
    if isinstance(value, list) and isinstance(key, int):
        if not -len(value) <= key < len(value):
            raise TemplateError(f"{trail} has no item {key} (it has {len(value)})")
        return value[key]
    raise TemplateError(f"{trail} is a {type(value).__name__}, it has no {key!r}")


def _value(expr: Expr, scope: Scope) -> Any:
    value = resolve(expr.path, scope)
    if value is None:
        # Unset config or an optional parameter left out: never handed to a handler as None.
        raise NotSetError(f"{expr.path} is not set")
    if isinstance(value, SecretStr):
        if not scope.final:
            return MASK
        secret = value.get_secret_value()
        scope.secrets.append(secret)
        return secret
    return value


def _text(value: Any, expr: Expr) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | int | float | Pending):
        return str(value)
    raise TemplateError(f"{expr.source}: {expr.path} is a {type(value).__name__}; use it as a whole value")


def render_string(text: str, scope: Scope) -> Any:
    template = parse_template(text)
    whole = template.whole
    if whole is not None:
        return _value(whole, scope)
    if not any(isinstance(part, Expr) for part in template.parts):
        return text
    pieces, pending = [], False
    for part in template.parts:
        if isinstance(part, str):
            pieces.append(part)
            continue
        value = _value(part, scope)
        pending = pending or isinstance(value, Pending | PendingText)
        pieces.append(_text(value, part))
    joined = "".join(pieces)
    return PendingText(joined) if pending else joined


def render_text(text: str, scope: Scope) -> str:
    """Text for people (a confirm dialog): never reveals a secret, shows unset values as `unknown`.

    A confirmation must not stop a run because, say, nginx recorded no version for the live colour.
    """
    pieces, pending = [], False
    for part in parse_template(text).parts:
        if isinstance(part, str):
            pieces.append(part)
            continue
        value = resolve(part.path, scope)
        if isinstance(value, SecretStr):
            value = MASK
        elif value is None:
            value = "unknown"
        elif isinstance(value, list):
            value = " ".join(_text(item, part) for item in value)
        pending = pending or isinstance(value, Pending | PendingText)
        pieces.append(_text(value, part))
    joined = "".join(pieces)
    return PendingText(joined) if pending else joined


def render(value: Any, scope: Scope) -> Any:
    """Render every string inside `value` (dict keys too); other values pass through."""
    if isinstance(value, str):
        return render_string(value, scope)
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            rendered_key = render_string(key, scope) if isinstance(key, str) else key
            if isinstance(rendered_key, Pending):
                rendered_key = PendingText(str(rendered_key))
            out[rendered_key] = render(item, scope)
        return out
    if isinstance(value, list):
        items: list[Any] = []
        for item in value:
            if isinstance(item, str) and (whole := parse_template(item).whole) is not None and whole.splat:
                spliced = _value(whole, scope)
                if isinstance(spliced, Pending):
                    items.append(spliced)
                elif isinstance(spliced, list):
                    items.extend(spliced)
                else:
                    raise TemplateError(f"{whole.source}: {whole.path} is not a list, so it cannot be spliced")
            else:
                items.append(render(item, scope))
        return items
    return value


def evaluate(condition: str, scope: Scope) -> bool | Pending:
    """A `when:` condition: true, false, or Pending when it depends on something not known yet."""
    try:
        parsed: Condition = parse_condition(condition)
    except ExprError as exc:
        raise TemplateError(f"when: {exc}") from exc
    value = resolve(parsed.path, scope)
    if isinstance(value, Pending):
        return value
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if parsed.op == "==":
        result = value == parsed.literal
    elif parsed.op == "!=":
        result = value != parsed.literal
    else:
        result = bool(value)
    return not result if parsed.negate else result


def references(value: Any) -> Iterator[Path]:
    """Every path a value's templates use (including those inside [ ] indexes), for load-time checks."""
    if isinstance(value, str):
        for part in parse_template(value).parts:
            if isinstance(part, Expr):
                yield from part.path.paths()
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from references(key)
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def unresolved(value: Any, loc: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Locations inside a rendered value that are Pending or contain a pending piece of text."""
    if isinstance(value, Pending | PendingText):
        yield loc
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, PendingText):
                yield loc
            yield from unresolved(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from unresolved(item, (*loc, index))


def displayable(value: Any) -> Any:
    """A rendered value with Pending turned into its `<from step X>` text, for plans and JSON."""
    if isinstance(value, Pending | PendingText):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key) if isinstance(key, PendingText) else key: displayable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [displayable(item) for item in value]
    return value
