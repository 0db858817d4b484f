"""Add a principal to a topic option's `producers` or `consumers`, editing the contract's text.

The edit is textual, not a re-print of the descriptor: everything outside the inserted entry
(comments, order, alignment, blank lines) stays byte for byte. The option's braces are found with a
small scanner that skips strings and comments, so a `}` inside either does not end the option.
An entry goes after the last entry of the same field (copying its indentation), else after the last
`producers`/`consumers` entry, else after the option's last field; a list (`consumers: ["a", "b"]`)
gains one more element. A principal already listed (bare `svc-x` and `User:svc-x` are the same
principal) leaves the file as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from contracts_cli.errors import ContractsError
from contracts_cli.model import TOPIC_EXTENSION, TopicBinding, normalize_principal

ROLES = ("producers", "consumers")
_OPTION = re.compile(r"\(\s*" + re.escape(TOPIC_EXTENSION) + r"\s*\)\s*=\s*\{")
_STRING = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class _Entry:
    field: str
    start: int  # offset of the field name
    end: int  # offset just past the value (a string, a list's `]`, or a nested message's `}`)
    list_close: int | None  # offset of `]` when the value is a list
    values: tuple[str, ...]


def add_principal(text: str, binding: TopicBinding, role: str, principal: str) -> str:
    """`text` (the contract file holding `binding`) with `principal` among the option's `role`."""
    if role not in ROLES:
        raise ValueError(f"role is one of {ROLES}, not {role!r}")
    open_brace, close_brace = _option_braces(text, binding)
    entries = _entries(text, open_brace + 1, close_brace)
    wanted = normalize_principal(principal)
    if any(normalize_principal(value) == wanted for entry in entries if entry.field == role for value in entry.values):
        return text
    literal = _literal(principal)
    same_field = [entry for entry in entries if entry.field == role]
    if same_field and same_field[-1].list_close is not None:
        close = same_field[-1].list_close
        separator = ", " if same_field[-1].values else ""
        return text[:close] + separator + literal + text[close:]
    anchors = same_field or [entry for entry in entries if entry.field in ROLES] or entries
    if not anchors:  # an empty option: `= {}`
        return text[: open_brace + 1] + f" {role}: {literal} " + text[open_brace + 1 :]
    anchor = anchors[-1]
    line_start = text.rfind("\n", 0, anchor.start) + 1
    indent = text[line_start : anchor.start]
    if indent.strip():  # the anchor shares its line with other fields: stay on that line
        return text[: anchor.end] + f" {role}: {literal}" + text[anchor.end :]
    line_end = text.find("\n", anchor.end)
    line_end = len(text) if line_end < 0 else line_end
    return text[:line_end] + f"\n{indent}{role}: {literal}" + text[line_end:]


def _literal(principal: str) -> str:
    # Contracts spell User principals bare (a bare name means User:<name>); keep that spelling.
    bare = principal.removeprefix("User:") if principal.startswith("User:") else principal
    return '"' + bare.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _option_braces(text: str, binding: TopicBinding) -> tuple[int, int]:
    """Offsets of the option's `{` and its matching `}`, searching from the binding's location."""
    where = f"{binding.location.path}:{binding.location.line}:{binding.location.column}"
    lines = text.split("\n")
    start = sum(len(line) + 1 for line in lines[: max(binding.location.line - 1, 0)])
    match = _OPTION.search(_blank_comments_and_strings(text), start)
    if match is None:
        raise ContractsError(
            f"cannot find the ({TOPIC_EXTENSION}) = {{...}} option of topic {binding.name}: add the principal by hand",
            location=where,
        )
    open_brace = match.end() - 1
    close_brace = _matching(_blank_comments_and_strings(text), open_brace)
    if close_brace is None:
        raise ContractsError(f"the option of topic {binding.name} has no closing brace", location=where)
    return open_brace, close_brace


def _blank_comments_and_strings(text: str) -> str:
    """`text` with comments blanked and string contents masked: offsets stay, syntax is easy to find."""
    out = list(text)
    index = 0
    while index < len(text):
        if text.startswith("//", index) or text.startswith("#", index):
            end = text.find("\n", index)
            end = len(text) if end < 0 else end
        elif text.startswith("/*", index):
            end = text.find("*/", index + 2)
            end = len(text) if end < 0 else end + 2
        elif text[index] in "\"'":
            match = _STRING.match(text, index)
            end = match.end() if match else index + 1
            # Not spaces: a string stays one token for the scanner that reads values.
            out[index + 1 : end - 1] = "x" * max(end - index - 2, 0)
            index = end
            continue
        else:
            index += 1
            continue
        out[index:end] = (" " if char != "\n" else "\n" for char in text[index:end])
        index = end
    return "".join(out)


def _matching(blank: str, open_index: int) -> int | None:
    pairs = {"{": "}", "[": "]", "<": ">"}
    stack = [pairs[blank[open_index]]]
    for index in range(open_index + 1, len(blank)):
        char = blank[index]
        if char in pairs:
            stack.append(pairs[char])
        elif stack and char == stack[-1]:
            stack.pop()
            if not stack:
                return index
    return None


def _entries(text: str, start: int, end: int) -> list[_Entry]:
    """The option's top-level fields between its braces, with their string values."""
    blank = _blank_comments_and_strings(text)
    entries = []
    index = start
    while index < end:
        match = _FIELD.match(blank, index)
        if match is None:
            index += 1
            continue
        name = match.group()
        after = _skip_space(blank, match.end())
        if after < end and blank[after] == ":":
            after = _skip_space(blank, after + 1)
        if after < end and blank[after] in "{[<":
            close = _matching(blank, after) or end
            values = tuple(_strings(text, after, close)) if blank[after] == "[" else ()
            entries.append(_Entry(name, match.start(), close + 1, close if blank[after] == "[" else None, values))
            index = close + 1
            continue
        value = re.compile(r"[^\s,;}]+").match(blank, after)
        value_end = value.end() if value else after
        entries.append(_Entry(name, match.start(), value_end, None, tuple(_strings(text, after, value_end))))
        index = value_end
    return entries


def _skip_space(blank: str, index: int) -> int:
    while index < len(blank) and blank[index].isspace():
        index += 1
    return index


def _strings(text: str, start: int, end: int) -> list[str]:
    values = []
    for match in _STRING.finditer(text, start, end):
        raw = match.group()[1:-1]
        values.append(re.sub(r"\\(.)", r"\1", raw))
    return values
