"""Where the generated rules and their tests live, and whether the committed copies are current."""

import os
from dataclasses import dataclass
from pathlib import Path

from bot.rules.generate import render_rules
from bot.rules.model import Thresholds
from bot.rules.promtest import render_tests


def project_root() -> Path:
    """The checkout this package runs from, else the working directory (an installed package)."""
    checkout = Path(__file__).resolve().parents[2]
    return checkout if (checkout / "runbooks").is_dir() and (checkout / "bot").is_dir() else Path.cwd()


def default_rules_path() -> Path:
    return project_root() / "deploy" / "prometheus" / "atl-rules.yml"


def tests_path_for(rules: Path) -> Path:
    return rules.parent / "tests" / f"{rules.stem}.test.yml"


@dataclass(frozen=True)
class Outputs:
    rules: Path
    tests: Path

    @classmethod
    def at(cls, rules: Path | None = None, tests: Path | None = None) -> "Outputs":
        rules = rules or default_rules_path()
        return cls(rules, tests or tests_path_for(rules))

    def render(self, thresholds: Thresholds) -> dict[Path, str]:
        # promtool resolves rule_files relative to the test file.
        rules_from_tests = Path(os.path.relpath(self.rules.resolve(), self.tests.resolve().parent)).as_posix()
        return {
            self.rules: render_rules(thresholds),
            self.tests: render_tests(thresholds, rules_from_tests, self.tests.name),
        }


def write(thresholds: Thresholds, outputs: Outputs) -> list[Path]:
    """Write both files; returns the ones whose content changed."""
    changed = []
    for path, text in outputs.render(thresholds).items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def stale(thresholds: Thresholds, outputs: Outputs) -> list[Path]:
    """Files missing or different from what the thresholds generate now."""
    return [path for path, text in outputs.render(thresholds).items()
            if not path.exists() or path.read_text(encoding="utf-8") != text]
