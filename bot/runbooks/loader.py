"""Load `runbooks/*.yml` runbooks and check each one against the handler registry before anything runs.

Which files are runbooks: `deploy-*.yml`, `rollback-*.yml` and `maint-*.yml` in the runbooks directory.
The other files there (atl-bot.example.yml, alert-routing.yml, thresholds.yml, …) are not; a file with a
top-level `steps:` but another name is reported, so a runbook is never silently left out.

Every problem names the file, the line when known, the step and the reason.
"""

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.config.environments import EnvironmentConfig
from bot.errors import ConfigError
from bot.paths import runbooks_dir
from bot.rules.thresholds import load as load_thresholds
from bot.runbooks.check import param_problems
from bot.runbooks.prepare import StepRenderError, prepare
from bot.runbooks.refs import reference_problems
from bot.runbooks.schema import RollbackOnFailure, Runbook, Step
from bot.runbooks.template import Scope, TemplateError, render
from handlers.registry import Handler, load_all

RUNBOOK_PREFIXES = ("deploy-", "rollback-", "maint-")
DEFAULT_PROMETHEUS_URL = "http://127.0.0.1:9090"


@dataclass(frozen=True)
class Problem:
    file: Path
    reason: str
    line: int | None = None
    step: str | None = None

    def __str__(self) -> str:
        where = f"{self.file.parent.name}/{self.file.name}" + (f":{self.line}" if self.line else "")
        return f"{where}:" + (f" step {self.step}:" if self.step else "") + f" {self.reason}"


class RunbookLoadError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


class UnknownRunbookError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class UnknownEnvironmentError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


@dataclass
class Catalogue:
    """Every runbook that parsed (by id), every problem found, and what their templates see.

    A runbook with problems must not run. The engine renders a step with
    `prepare(step, catalogue.scope(runbook, env, params, steps=outputs_so_far, final=True))`.
    """

    registry: Mapping[str, Handler]
    environments: Mapping[str, EnvironmentConfig] = field(default_factory=dict)
    thresholds: Mapping[str, Any] = field(default_factory=dict)
    prometheus_url: str = DEFAULT_PROMETHEUS_URL
    runbooks: dict[str, Runbook] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # runbook id → environment → why it cannot run there (that environment does not configure what it needs)
    unavailable: dict[str, dict[str, str]] = field(default_factory=dict)

    def env_values(self, environment: str) -> dict[str, Any]:
        """What `{{ env.… }}` sees in `environment`; UnknownEnvironmentError names the configured ones."""
        if environment not in self.environments:
            configured = ", ".join(sorted(self.environments)) or "none: add an environments: section to the config"
            raise UnknownEnvironmentError(f"environment {environment!r} is not configured (configured: {configured})")
        return self.environments[environment].template_values(environment, self.prometheus_url)

    def scope(
        self,
        runbook: Runbook,
        environment: str | None,
        params: Mapping[str, Any],
        steps: Mapping[str, Mapping[str, Any]] | None = None,
        final: bool = False,
    ) -> Scope:
        env = None if environment is None else self.env_values(environment)
        return Scope(
            params=params,
            env=env,
            steps=steps or {},
            step_ids=runbook.step_ids,
            thresholds=self.thresholds,
            final=final,
        )

    def problems_of(self, runbook_id: str) -> list[Problem]:
        path = self.files.get(runbook_id)
        return [p for p in self.problems if p.file == path]

    def unavailable_in(self, runbook_id: str, environment: str) -> str | None:
        return self.unavailable.get(runbook_id, {}).get(environment)

    def get(self, runbook_id: str) -> Runbook:
        if runbook_id not in self.runbooks:
            known = ", ".join(sorted(self.runbooks)) or "none"
            raise UnknownRunbookError(f"no runbook {runbook_id!r} (known: {known})")
        return self.runbooks[runbook_id]

    def require(self) -> "Catalogue":
        if self.problems:
            raise RunbookLoadError(self.problems)
        return self


def is_runbook_file(path: Path) -> bool:
    return path.suffix == ".yml" and path.name.startswith(RUNBOOK_PREFIXES)


def load_runbooks(
    directory: Path | None = None,
    registry: Mapping[str, Handler] | None = None,
    environments: Mapping[str, EnvironmentConfig] | None = None,
    prometheus_url: str = DEFAULT_PROMETHEUS_URL,
) -> Catalogue:
    """Parse and check every runbook file; with `environments`, also render each step for each of them."""
    directory = directory if directory is not None else runbooks_dir()
    catalogue = Catalogue(
        registry=registry if registry is not None else load_all(),
        environments=environments or {},
        prometheus_url=prometheus_url.rstrip("/"),
    )
    catalogue.thresholds, catalogue.problems = _thresholds(directory / "thresholds.yml")
    nodes: dict[str, yaml.Node] = {}
    for path in sorted(directory.glob("*.yml")):
        if not is_runbook_file(path):
            catalogue.problems += _stray(path)
            continue
        runbook, node, problems = _parse(path)
        catalogue.problems += problems
        if runbook is None or node is None:
            catalogue.files.setdefault(path.stem, path)  # so problems_of(id) finds why it did not load
            continue
        catalogue.runbooks[runbook.id], catalogue.files[runbook.id], nodes[runbook.id] = runbook, path, node
        catalogue.problems += _Checker(catalogue, runbook, path, node).check()
    for runbook in catalogue.runbooks.values():
        catalogue.problems += _rollback_problems(runbook, catalogue, nodes[runbook.id])
    return catalogue


def _thresholds(path: Path) -> tuple[dict[str, Any], list[Problem]]:
    """runbooks/thresholds.yml rows as prometheus monitoring rules: component → id → rule."""
    if not path.exists():
        return {}, []
    try:
        thresholds = load_thresholds(path)
    except ConfigError as exc:
        return {}, [Problem(path, str(exc).removeprefix(f"{path}: "))]
    rules: dict[str, Any] = {}
    for key, row in thresholds.items():
        component, row_id = key.split(".", 1)
        rules.setdefault(component, {})[row_id] = {
            "name": key,
            "promql": row.expr,
            "warning": row.warning,
            "critical": row.critical,
            "direction": row.direction.value,
        }
    return rules, []


def _stray(path: Path) -> list[Problem]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return []  # not ours to judge; its owner's loader reports it
    if isinstance(data, dict) and "steps" in data:
        prefixes = ", ".join(f"{p}*.yml" for p in RUNBOOK_PREFIXES)
        return [Problem(path, f"has steps: like a runbook, but runbook files are named {prefixes}")]
    return []


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The line of the deepest YAML node `loc` reaches (1-based)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = [value for key, value in node.value if isinstance(key, yaml.ScalarNode) and key.value == str(part)]
            if not found:
                break
            node = found[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _duplicate_keys(node: yaml.Node) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    found.append((key.start_mark.line + 1, key.value))
                seen.add(key.value)
            found += _duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found += _duplicate_keys(item)
    return found


def _parse(path: Path) -> tuple[Runbook | None, yaml.Node | None, list[Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return None, None, [Problem(path, f"not valid YAML: {getattr(exc, 'problem', exc)}", line)]
    if not isinstance(data, dict) or node is None:
        return None, None, [Problem(path, "expected a mapping with id, title, role, parameters and steps", 1)]
    problems = [Problem(path, f"key {key!r} appears twice", line) for line, key in _duplicate_keys(node)]
    try:
        return Runbook.model_validate(data), node, problems
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            problem = Problem(path, _reason(loc, err), line_of(node, loc), _step_label(data, loc))
            if problem not in problems:  # a union reports once per alternative
                problems.append(problem)
        return None, node, problems


def _step_label(data: dict[str, Any], loc: tuple[Any, ...]) -> str | None:
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        steps = data.get("steps")
        step = steps[loc[1]] if isinstance(steps, list) and loc[1] < len(steps) else None
        return str(step["id"]) if isinstance(step, dict) and "id" in step else f"#{loc[1] + 1}"
    return None


def _reason(loc: tuple[Any, ...], err: Any) -> str:
    inner = loc[2:] if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int) else loc
    key = ".".join(str(part) for part in inner) or "(top level)"
    if inner[:1] == ("on_failure",):
        return "on_failure: expected stop, continue or {rollback: RUNBOOK_ID}"
    if err["type"] == "missing":
        return f"{key}: required key is missing"
    if err["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    return f"{key}: {str(err['msg']).removeprefix('Value error, ')}"


class _Checker:
    """Checks one parsed runbook: references, handlers, and params rendered for each environment."""

    def __init__(self, catalogue: Catalogue, runbook: Runbook, path: Path, node: yaml.Node) -> None:
        self.catalogue, self.runbook, self.path, self.node = catalogue, runbook, path, node
        self.registry = catalogue.registry
        self.problems: list[Problem] = []

    def add(self, index: int | None, loc: tuple[Any, ...], reason: str, env: str | None = None) -> None:
        full = ("steps", index, *loc) if index is not None else loc
        step = self.runbook.steps[index].id if index is not None else None
        reason = (f"in environment {env}: " if env else "") + reason
        problem = Problem(self.path, reason, line_of(self.node, full), step)
        if problem not in self.problems:
            self.problems.append(problem)

    def check(self) -> list[Problem]:
        runbook, catalogue = self.runbook, self.catalogue
        if runbook.id != self.path.stem:
            self.add(None, ("id",), f"id {runbook.id!r} must equal the file name {self.path.stem!r}")
        for index, where, why in reference_problems(runbook, catalogue.thresholds):
            self.add(index, tuple(where.split(".")), why)
        for index, step in enumerate(runbook.steps):
            if step.handler not in self.registry:
                close = difflib.get_close_matches(step.handler, list(self.registry), n=1)
                known = ", ".join(sorted(self.registry)) or "no handlers are registered"
                hint = f" (did you mean {close[0]}?)" if close else f" (known: {known})"
                self.add(index, ("handler",), f"unknown handler {step.handler!r}{hint}")
        if self.problems:
            return self.problems  # rendering would only repeat these
        defaults = {name: spec.default for name, spec in runbook.parameters.items() if spec.default is not None}
        # Without an environment every step is checked, whatever its `when`, with env values pending.
        bare = catalogue.scope(runbook, None, defaults)
        for index, step in enumerate(runbook.steps):
            try:
                params = render(step.params, bare)
            except TemplateError as exc:
                self.add(index, ("params",), str(exc))
                continue
            self.validate(index, step, params, None)
        for name in catalogue.environments:
            scope = catalogue.scope(runbook, name, defaults)
            for index, step in enumerate(runbook.steps):
                try:
                    prepared = prepare(step, scope)
                except StepRenderError as exc:
                    if exc.not_set:
                        catalogue.unavailable.setdefault(runbook.id, {})[name] = str(exc)
                        break
                    self.add(index, ("params",), str(exc).removeprefix(f"step {step.id}: "), name)
                    continue
                if prepared.run is not False:
                    self.validate(index, step, prepared.params, name)
        return self.problems

    def validate(self, index: int, step: Step, params: dict[str, Any], env: str | None) -> None:
        handler = self.registry[step.handler]
        for loc, reason in param_problems(handler, params):
            source = _template_at(step.params, loc)
            self.add(index, ("params", *loc), reason + (f" (from {source})" if source else ""), env)


def _template_at(params: dict[str, Any], loc: tuple[Any, ...]) -> str | None:
    """The template a refused value came from, so the reason points at what to change."""
    value: Any = params
    for part in loc:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            value = value[part]
        else:
            return None
    return value if isinstance(value, str) and "{{" in value else None


def _rollback_problems(runbook: Runbook, catalogue: Catalogue, node: yaml.Node) -> list[Problem]:
    problems = []
    for index, step in enumerate(runbook.steps):
        if not isinstance(step.on_failure, RollbackOnFailure):
            continue
        target = catalogue.runbooks.get(step.on_failure.rollback)
        line = line_of(node, ("steps", index, "on_failure"))
        path = catalogue.files[runbook.id]
        if target is None:
            problems.append(Problem(path, f"on_failure: no runbook {step.on_failure.rollback!r}", line, step.id))
        elif required := [name for name, spec in target.parameters.items() if spec.required]:
            why = f"on_failure: {target.id} needs {', '.join(required)}, which a failed step cannot supply"
            problems.append(Problem(path, why, line, step.id))
    return problems
