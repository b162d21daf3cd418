"""/incident: declare and run incidents; inside an incident thread the incident is implied, else #ID."""

from typing import Literal

from bot.errors import UsageError
from bot.slack.commands import grammar
from bot.slack.commands.base import CommandSpec, Help, Request, Subcommand, is_help

USAGE = (
    "/incident declare [P1-P4] TITLE · sev P1 · ack · commander @user · note TEXT · status · timeline"
    " · resolve SUMMARY"
)


class IncidentRequest(Request):
    incident_id: int | None = None  # None: implied by the thread, or the only open incident


class Declare(IncidentRequest):
    severity: str | None = None
    title: str | None = None  # None: open the declare modal


class SetSeverity(IncidentRequest):
    severity: str


class Acknowledge(IncidentRequest):
    pass


class SetCommander(IncidentRequest):
    user_id: str


class Note(IncidentRequest):
    text: str


class Status(IncidentRequest):
    pass


class Timeline(IncidentRequest):
    pass


class Resolve(IncidentRequest):
    summary: str


Verb = Literal["declare", "sev", "ack", "commander", "note", "status", "timeline", "resolve"]
_USAGES: dict[str, str] = {
    "declare": "/incident declare [P1-P4] TITLE   e.g. /incident declare P2 checkout failing",
    "sev": "/incident [#ID] sev P1|P2|P3|P4",
    "ack": "/incident [#ID] ack",
    "commander": "/incident [#ID] commander @user",
    "note": "/incident [#ID] note TEXT",
    "status": "/incident [#ID] status",
    "timeline": "/incident [#ID] timeline",
    "resolve": "/incident [#ID] resolve SUMMARY",
}


def _take_ref(words: list[str]) -> tuple[int | None, list[str]]:
    """Pull a `#ID` from anywhere before the free text (first or second word)."""
    for i in (0, 1):
        if i < len(words):
            m = grammar.INCIDENT_REF.match(words[i])
            if m:
                return int(m.group(1)), words[:i] + words[i + 1:]
    return None, words


def parse(text: str) -> Request:
    raw = text.strip()
    # Free text (titles, notes) keeps its quotes and spacing, so split on whitespace, not shell-style.
    words = raw.split()
    if is_help(words):
        return Help()
    if not words:
        raise UsageError("Which subcommand?", USAGE)
    ref, words = _take_ref(words)
    verb = words[0].lower()
    rest_words = words[1:]
    rest = " ".join(rest_words).strip()
    if verb not in _USAGES:
        raise UsageError(f"Unknown subcommand `{words[0]}`.", USAGE)
    usage = _USAGES[verb]
    if verb == "declare":
        if ref is not None:
            raise UsageError("`declare` opens a new incident; it takes no #ID.", usage)
        if not rest_words:
            return Declare()
        severity = None
        if grammar.SEVERITY.match(rest_words[0]):
            severity, rest = rest_words[0].upper(), " ".join(rest_words[1:]).strip()
        elif rest_words[0].upper().startswith("P") and len(rest_words[0]) <= 3:
            grammar.severity(rest_words[0], usage)
        if not rest:
            raise UsageError("The incident needs a title.", usage)
        return Declare(severity=severity, title=rest[:150])
    if verb == "sev":
        if len(rest_words) != 1:
            raise UsageError("`sev` takes exactly one severity.", usage)
        return SetSeverity(incident_id=ref, severity=grammar.severity(rest_words[0], usage))
    if verb == "commander":
        if len(rest_words) != 1:
            raise UsageError("`commander` takes exactly one user.", usage)
        return SetCommander(incident_id=ref, user_id=grammar.user(rest_words[0], usage))
    if verb in ("note", "resolve"):
        if not rest:
            what = "note text" if verb == "note" else "resolution summary"
            raise UsageError(f"`{verb}` needs a {what}.", usage)
        return Note(incident_id=ref, text=rest) if verb == "note" else Resolve(incident_id=ref, summary=rest)
    if rest_words:
        raise UsageError(f"`{verb}` takes no arguments, got `{rest}`.", usage)
    plain: dict[str, type[IncidentRequest]] = {"ack": Acknowledge, "status": Status, "timeline": Timeline}
    return plain[verb](incident_id=ref)


SPEC = CommandSpec(
    name="/incident",
    description="Declare and run incidents: severity, acknowledgement, commander, notes, timeline, resolve",
    usage_hint="declare [P1-P4] TITLE | sev P1 | ack | commander @user | note TEXT | status | timeline | resolve",
    parse=parse,
    subcommands=[
        Subcommand("declare [P1-P4] TITLE", "open an incident (no title: a form)", Declare),
        Subcommand("sev P1|P2|P3|P4", "change the severity", SetSeverity),
        Subcommand("ack", "acknowledge: you are on it", Acknowledge),
        Subcommand("commander @user", "name the incident commander", SetCommander),
        Subcommand("note TEXT", "add a note to the timeline", Note),
        Subcommand("status", "where the incident stands", Status),
        Subcommand("timeline", "the timeline of record", Timeline),
        Subcommand("resolve SUMMARY", "resolve with a summary", Resolve),
    ],
)
