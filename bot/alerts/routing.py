"""Severity routing as data (runbooks/alert-routing.yml): ordered rules over alert labels → P1–P4.

Order of decision: a `priority: P1…P4` label on the alert; then the file's rules, first match wins;
then the built-in defaults (severity=critical → P2, severity=warning → P3); then the file's `default`
(P4 unless set). Loading checks everything and names the file, line and reason of the first problem.
"""

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.errors import ConfigError
from bot.incidents.severity import Severity

BUILTIN = (("critical", Severity.P2), ("warning", Severity.P3))
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    match: dict[str, str] = Field(default_factory=dict)
    match_re: dict[str, re.Pattern[str]] = Field(default_factory=dict)
    severity: Severity

    @field_validator("match", "match_re", mode="before")
    @classmethod
    def _label_names(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for key in value:
                if not isinstance(key, str) or not _LABEL.match(key):
                    raise ValueError(f"{key!r} is not a Prometheus label name")
            # Label values are strings; YAML would read `code: 500` as a number.
            return {k: v if isinstance(v, str | re.Pattern) else str(v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _has_matcher(self) -> "Rule":
        if not self.match and not self.match_re:
            raise ValueError("a rule needs `match` (label: value) or `match_re` (label: regex)")
        return self

    def matches(self, labels: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match.items()) and all(
            p.fullmatch(labels.get(k, "")) for k, p in self.match_re.items()
        )


class RoutingRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    priority_label: str = "priority"
    rules: list[Rule] = Field(default_factory=list)
    default: Severity = Severity.P4

    def severity_for(self, labels: dict[str, str]) -> Severity:
        override = labels.get(self.priority_label, "").strip().upper()
        if override in Severity.__members__:
            return Severity(override)
        for rule in self.rules:
            if rule.matches(labels):
                return rule.severity
        for value, severity in BUILTIN:
            if labels.get("severity", "").lower() == value:
                return severity
        return self.default


def _node_at(node: yaml.Node, loc: tuple[Any, ...]) -> yaml.Node:
    """The YAML node a pydantic error location points at (as deep as it exists)."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            if found is None:
                found = next((k for k, _ in node.value if getattr(k, "value", None) == str(part)), None)
            if found is None:
                return node
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    part: Any
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def load_routing(path: Path) -> RoutingRules:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the alert routing file ({exc.strerror or exc})") from exc
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if root is None:
        return RoutingRules()
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ConfigError(f"{path} line {root.start_mark.line + 1}: expected a mapping with `rules:` and `default:`")
    try:
        return RoutingRules.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # A misspelt key also makes the real key "missing"; the misspelling is the useful report.
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = tuple(err["loc"])
        # Custom validators report the rule itself; keep the location pydantic gives.
        line = _node_at(root, loc).start_mark.line + 1
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (expected name, match, match_re, severity / rules, default, priority_label)"
        elif err["type"] == "enum":
            msg = f"{err['input']!r} is not a severity (expected P1, P2, P3 or P4)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        raise ConfigError(f"{path} line {line}: {_where(loc)}: {msg}") from exc
