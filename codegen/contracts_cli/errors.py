"""Errors meant for people: the CLI prints them on one line and exits with their code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


class ContractsError(Exception):
    """A user or configuration error: printed as one line, never as a traceback.

    `location` is `path:line:col` (or `path`) when the error points into a file.
    """

    def __init__(self, message: str, *, location: str | None = None, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.exit_code = exit_code

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message
