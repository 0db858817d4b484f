"""The one shape every check reports in, so that every output format can print any check."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Finding:
    """One problem at one place: `path` is relative to the registry root, lines and columns from 1."""

    path: str
    line: int
    column: int
    rule: str
    message: str

    def as_dict(self) -> dict[str, str | int]:
        return {"path": self.path, "line": self.line, "column": self.column, "rule": self.rule, "message": self.message}
