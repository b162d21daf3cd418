"""Errors that stop startup or refuse user input, each carrying the message a person reads."""


class ConfigError(Exception):
    """Bad or missing configuration; the message names the variable or key and what is expected."""


class UsageError(Exception):
    """A slash command's arguments were wrong; carries what was wrong and the correct form."""

    def __init__(self, problem: str, usage: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.usage = usage

    def __str__(self) -> str:
        return f"{self.problem}\nCorrect form: {self.usage}"
