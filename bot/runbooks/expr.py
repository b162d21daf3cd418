"""The tiny expression language inside `{{ … }}` and `when:` — paths and one comparison, nothing else.

    path       := NAME ( "." NAME | "[" (path | STRING | INT) "]" )*
    condition  := ["not"] path [ ("==" | "!=") literal ]
    literal    := 'text' | "text" | INT | FLOAT | true | false | null

There is no evaluation of code and no function calls: a template can only look values up.
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LITERAL = re.compile(r"""'([^']*)'|"([^"]*)"|(-?\d+\.\d+)|(-?\d+)|(true|false|null)\b""")


class ExprError(ValueError):
    """An expression that does not parse; the message shows the expression and the expected form."""


@dataclass(frozen=True)
class Index:
    key: "Path | str | int"


@dataclass(frozen=True)
class Path:
    root: str
    parts: tuple["str | Index", ...] = ()

    def __str__(self) -> str:
        out = self.root
        for part in self.parts:
            if isinstance(part, str):
                out += f".{part}"
            elif isinstance(part.key, str):
                out += f"[{part.key!r}]"
            else:
                out += f"[{part.key}]"
        return out

    def paths(self) -> list["Path"]:
        """This path and every path used inside its [ ] indexes."""
        found = [self]
        for part in self.parts:
            if isinstance(part, Index) and isinstance(part.key, Path):
                found += part.key.paths()
        return found


@dataclass(frozen=True)
class Condition:
    path: Path
    negate: bool = False
    op: Literal["==", "!="] | None = None
    literal: Any = None

    def __str__(self) -> str:
        text = ("not " if self.negate else "") + str(self.path)
        return text if self.op is None else f"{text} {self.op} {self.literal!r}"


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, expected: str) -> ExprError:
        return ExprError(f"`{self.text}`: expected {expected} at column {self.pos + 1}")

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def take(self, token: str) -> bool:
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def name(self) -> str:
        match = _NAME.match(self.text, self.pos)
        if not match:
            raise self.fail("a name like params.version")
        self.pos = match.end()
        return match.group()

    def path(self) -> Path:
        root = self.name()
        parts: list[str | Index] = []
        while True:
            if self.take("."):
                parts.append(self.name())
            elif self.take("["):
                parts.append(Index(self.index_key()))
                if not self.take("]"):
                    raise self.fail("]")
            else:
                return Path(root, tuple(parts))

    def index_key(self) -> "Path | str | int":
        match = _LITERAL.match(self.text, self.pos)
        if match and (match.group(1) is not None or match.group(2) is not None or match.group(4) is not None):
            self.pos = match.end()
            if match.group(4) is not None:
                return int(match.group(4))
            return match.group(1) if match.group(1) is not None else match.group(2)
        return self.path()

    def literal(self) -> Any:
        match = _LITERAL.match(self.text, self.pos)
        if not match:
            raise self.fail("a literal ('text', a number, true, false or null)")
        self.pos = match.end()
        single, double, real, integer, word = match.groups()
        if single is not None or double is not None:
            return single if single is not None else double
        if real is not None:
            return float(real)
        if integer is not None:
            return int(integer)
        return {"true": True, "false": False, "null": None}[word]

    def end(self) -> None:
        self.skip_space()
        if self.pos != len(self.text):
            raise self.fail("the end of the expression")


@lru_cache(maxsize=1024)
def parse_path(text: str) -> Path:
    reader = _Reader(text.strip())
    path = reader.path()
    reader.end()
    return path


@lru_cache(maxsize=1024)
def parse_condition(text: str) -> Condition:
    reader = _Reader(text.strip())
    negate = False
    if reader.text.startswith("not ") or reader.text.startswith("not\t"):
        negate = True
        reader.pos = 3
        reader.skip_space()
    path = reader.path()
    reader.skip_space()
    for op in ("==", "!="):
        if reader.take(op):
            reader.skip_space()
            literal = reader.literal()
            reader.end()
            return Condition(path, negate, op, literal)  # type: ignore[arg-type]
    reader.end()
    return Condition(path, negate)


__all__ = ["Condition", "ExprError", "Index", "Path", "parse_condition", "parse_path"]
