"""Identifier conventions of each target language, so templates only print names."""

from __future__ import annotations

import re

from contracts_cli.rules.naming import identifier_form

PYTHON_KEYWORDS = frozenset(
    [
        "False",
        "None",
        "True",
        "and",
        "as",
        "assert",
        "async",
        "await",
        "break",
        "class",
        "continue",
        "def",
        "del",
        "elif",
        "else",
        "except",
        "finally",
        "for",
        "from",
        "global",
        "if",
        "import",
        "in",
        "is",
        "lambda",
        "nonlocal",
        "not",
        "or",
        "pass",
        "raise",
        "return",
        "try",
        "while",
        "with",
        "yield",
    ]
)
RUST_KEYWORDS = frozenset(
    [
        "as",
        "break",
        "const",
        "continue",
        "crate",
        "else",
        "enum",
        "extern",
        "false",
        "fn",
        "for",
        "if",
        "impl",
        "in",
        "let",
        "loop",
        "match",
        "mod",
        "move",
        "mut",
        "pub",
        "ref",
        "return",
        "self",
        "Self",
        "static",
        "struct",
        "super",
        "trait",
        "true",
        "type",
        "unsafe",
        "use",
        "where",
        "while",
        "async",
        "await",
        "dyn",
        "abstract",
        "become",
        "box",
        "do",
        "final",
        "macro",
        "override",
        "priv",
        "typeof",
        "unsized",
        "virtual",
        "yield",
        "try",
        "gen",
    ]
)
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z]|[0-9]|\b|_)|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def topic_constant(topic_name: str) -> str:
    """`audit.events.v1` -> `AUDIT_EVENTS_V1` (Python and Rust constants; lint keeps them unique)."""
    return identifier_form(topic_name)


def topic_go_name(topic_name: str) -> str:
    """`audit.events.v1` -> `AuditEventsV1` (an exported Go identifier)."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", topic_name) if part)


def go_camel_case(name: str) -> str:
    """protoc-gen-go's GoCamelCase: the Go name of a field or message."""
    out: list[str] = []
    index = 0
    while index < len(name):
        char = name[index]
        following = name[index + 1] if index + 1 < len(name) else ""
        if char == "." and following.islower():
            pass
        elif char == ".":
            out.append("_")
        elif char == "_" and (index == 0 or name[index - 1] == "."):
            out.append("X")
        elif char == "_" and following.isascii() and following.islower():
            pass
        elif char.isdigit():
            out.append(char)
        else:
            out.append(char.upper() if char.isascii() and char.islower() else char)
            while index + 1 < len(name) and name[index + 1].isascii() and name[index + 1].islower():
                index += 1
                out.append(name[index])
        index += 1
    return "".join(out)


def go_package_name(proto_package: str) -> str:
    """`audit.v1` -> `auditv1`, buf's managed-mode convention for the last two components."""
    return "".join(re.sub(r"[^a-z0-9]", "", part.lower()) for part in proto_package.split(".")[-2:]) or "pb"


def rust_upper_camel(name: str) -> str:
    """prost's message/enum type names (heck's UpperCamelCase): `HTTPRequest` -> `HttpRequest`."""
    words = _WORDS.findall(name)
    return "".join(word[:1].upper() + word[1:].lower() for word in words)


def rust_snake(name: str) -> str:
    """prost's module names for nested types: `EmailMessage` -> `email_message`."""
    return "_".join(word.lower() for word in _WORDS.findall(name))


def rust_ident(name: str) -> str:
    return f"r#{name}" if name in RUST_KEYWORDS and name not in ("self", "super", "crate", "Self") else name
