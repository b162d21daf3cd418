"""Compare manifest.yml with the registered slash commands, so neither drifts from the other."""

from pathlib import Path
from typing import Any

import yaml

from bot.slack.commands import COMMANDS

# usergroups:read: roles may name user groups (S…); without it their members are refused everything.
REQUIRED_SCOPES = {"commands", "chat:write", "usergroups:read"}


def check_manifest(path: Path) -> list[str]:
    """Every difference as one line; empty when the manifest matches."""
    try:
        doc: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return [f"cannot read {path}: {exc}"]
    problems: list[str] = []
    declared = {c.get("command"): c for c in (doc.get("features") or {}).get("slash_commands") or []}
    for name, spec in COMMANDS.items():
        entry = declared.get(name)
        if entry is None:
            problems.append(f"{name} is registered but missing from the manifest")
            continue
        if entry.get("description") != spec.description:
            problems.append(f"{name}: description {entry.get('description')!r} != {spec.description!r}")
        if (entry.get("usage_hint") or "") != spec.usage_hint:
            problems.append(f"{name}: usage_hint {entry.get('usage_hint')!r} != {spec.usage_hint!r}")
        if not str(entry.get("url", "")).endswith("/slack/events"):
            problems.append(f"{name}: url should end with /slack/events")
    for name in declared.keys() - COMMANDS.keys():
        problems.append(f"{name} is in the manifest but no listener is registered for it")
    settings = doc.get("settings") or {}
    if not (settings.get("interactivity") or {}).get("is_enabled"):
        problems.append("settings.interactivity.is_enabled must be true (confirm and approve buttons)")
    scopes = set(((doc.get("oauth_config") or {}).get("scopes") or {}).get("bot") or [])
    for scope in sorted(REQUIRED_SCOPES - scopes):
        problems.append(f"oauth_config.scopes.bot lacks {scope}")
    return problems
