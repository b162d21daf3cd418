"""Value patterns shared by several commands; each error names the value and the form expected."""

import re
from collections.abc import Mapping

from bot.config.environments import DEFAULT_TAG_PATTERN, EnvironmentConfig
from bot.errors import UsageError

# Only the shape of a git tag: each environment's `tag_pattern` decides which tags it deploys, and the
# runbook's version parameter checks that, naming the environment's form.
VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,127}$")
ENVIRONMENT = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
MIGRATION = re.compile(r"^\d{14}-[a-z0-9][a-z0-9_-]{0,99}$")
SEVERITY = re.compile(r"^[Pp][1-4]$")
INCIDENT_REF = re.compile(r"^#(\d{1,12})$")
USER_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


def version(value: str, usage: str) -> str:
    if not VERSION.match(value):
        raise UsageError(f"`{value}` is not a release tag (letters, digits and . _ + -, e.g. v1.0.0).", usage)
    return value


def release_tag(version: str, environment: str, environments: Mapping[str, EnvironmentConfig],
                usage: str) -> None:
    """`version` must match the environment's tag_pattern (the default one for an unknown environment, which
    is refused on its own)."""
    known = environments.get(environment)
    pattern = known.tag_pattern if known is not None else DEFAULT_TAG_PATTERN
    if re.fullmatch(pattern, version) is None:
        raise UsageError(f"`{version}` is not a release tag {environment} deploys (expected one matching "
                         f"{pattern}, e.g. v1.0.0).", usage)


def environment(value: str, usage: str) -> str:
    if not ENVIRONMENT.match(value):
        raise UsageError(f"`{value}` is not an environment name (e.g. production, staging).", usage)
    return value


def severity(value: str, usage: str) -> str:
    if not SEVERITY.match(value):
        raise UsageError(f"`{value}` is not a severity (expected P1, P2, P3 or P4).", usage)
    return value.upper()


def migration(value: str, usage: str) -> str:
    if not MIGRATION.match(value):
        raise UsageError(
            f"`{value}` is not a migration name (expected TIMESTAMP-name, e.g. 20240101120000-migration-name).",
            usage,
        )
    return value


def user(value: str, usage: str) -> str:
    m = USER_MENTION.match(value)
    if not m:
        raise UsageError(f"`{value}` is not a Slack user (mention them, e.g. @jane).", usage)
    return m.group(1)
