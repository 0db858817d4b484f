"""Whether a change to protovalidate rules makes them stricter: a record valid before may be invalid now.

`contracts breaking` reports such a change as TOPIC_RULE_TIGHTENED. "Stricter" is decided per rule kind
and conservatively: what cannot be shown to let every old record through counts as tightened.

- a constraint added (a bound, a format such as `string.email`, `required`, `enum.defined_only`, a
  `const`, a pattern, a predefined rule) tightens; a constraint removed loosens;
- a bound moved inward tightens (`min_len` 1 -> 3, `lt` 100 -> 50, `gt` -> `gte` at the same value
  loosens); exclusive ranges (`gt` above `lt`) count any change as tightened;
- `in` losing a value, or added, tightens; `not_in` gaining a value tightens;
- a CEL expression that was not there before (added or changed; a new id or message text alone is
  not a change) tightens;
- `ignore` towards fewer exemptions (IGNORE_ALWAYS -> IGNORE_IF_ZERO_VALUE -> unset) tightens, and
  under IGNORE_ALWAYS nothing does; `string.strict` (unset means true) turned back on tightens;
- any other changed value (`len`, `pattern`, `well_known_regex`, ...) tightens.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from contracts_cli.model import Field, Rules

_NUMERIC_KINDS = frozenset(
    {"int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32", "sfixed64"}
    | {"float", "double"}
)
_LOWER = ("gt", "gte")
_UPPER = ("lt", "lte")
_AT_LEAST = frozenset({"min_len", "min_bytes", "min_items", "min_pairs"})
_AT_MOST = frozenset({"max_len", "max_bytes", "max_items", "max_pairs", "within"})
_EXPRESSIONS = frozenset({"cel", "cel_expression"})
_NO_EFFECT = frozenset({"example"})  # documentation only
# How many records each `ignore` lets through, most first: moving right tightens.
_IGNORE_ORDER = ("IGNORE_ALWAYS", "IGNORE_IF_ZERO_VALUE", "IGNORE_UNSPECIFIED")
# Rules on the elements of a list or map: an old record without the field has no elements to check.
_ELEMENT_PREFIXES = ("repeated.items.", "map.keys.", "map.values.")


@dataclass(frozen=True)
class Tightening:
    rule: str  # the rule's path, e.g. "string.min_len", "cel"
    before: Any  # None when the rule was not there
    after: Any

    def describe(self) -> str:
        if self.rule in _EXPRESSIONS or self.rule.endswith((".cel", ".cel_expression")):
            added = [item for item in _expressions(self.after) if item not in _expressions(self.before)]
            return f"{self.rule} {', '.join(repr(expression) for expression in added)} added"
        if self.before is None:
            return f"{self.rule} = {_show(self.after)} added"
        if self.after is None:
            return f"{self.rule} = {_show(self.before)} removed"
        return f"{self.rule} {_show(self.before)} -> {_show(self.after)}"


def tightened(before: Rules, after: Rules) -> list[Tightening]:
    """The changes from `before` to `after` that can make a valid record invalid."""
    old, new = _comparable(before), _comparable(after)
    if new.get("ignore") == "IGNORE_ALWAYS":
        return []
    names = {_numeric(path): path for path, _ in (*before, *after)}
    found: list[Tightening] = []
    for group in sorted({_parent(path) for path in (*old, *new)}):
        found.extend(
            Tightening(names.get(change.rule, change.rule), change.before, change.after)
            for change in _group_tightened(group, old, new)
        )
    return found


def _comparable(rules: Rules) -> dict[str, Any]:
    """Rules keyed so that a field widened from int32 to int64 keeps its bounds (numeric rules read alike)."""
    return {_numeric(path): value for path, value in rules}


def _numeric(path: str) -> str:
    return ".".join("number" if part in _NUMERIC_KINDS else part for part in path.split("."))


def tightened_on_new_field(field: Field) -> list[Tightening]:
    """The rules of a field old records do not have: they hold its zero value, or nothing at all."""
    rules = dict(field.rules)
    if rules.get("ignore") in ("IGNORE_ALWAYS", "IGNORE_IF_ZERO_VALUE"):
        return []
    # protovalidate skips an unset field that tracks presence, unless it is required.
    if field.explicit_presence or field.oneof or (field.kind == "message" and not field.repeated and not field.is_map):
        return [Tightening("required", None, True)] if rules.get("required") else []
    return [
        Tightening(path, None, value)
        for path, value in field.rules
        if not path.startswith(_ELEMENT_PREFIXES) and _name(path) not in _NO_EFFECT and path != "ignore"
    ]


def _group_tightened(group: str, old: dict[str, Any], new: dict[str, Any]) -> Iterator[Tightening]:
    prefix = f"{group}." if group else ""
    keys = sorted({path for path in (*old, *new) if _parent(path) == group})
    bounds = [f"{prefix}{name}" for name in (*_LOWER, *_UPPER)]
    if _exclusive_range(old, prefix) or _exclusive_range(new, prefix):
        bounded: set[str] = set()  # a range that excludes its middle: any change counts, key by key
    else:
        bounded = set(bounds)
        yield from _bound_moved(prefix, _LOWER, old, new, inward=1)
        yield from _bound_moved(prefix, _UPPER, old, new, inward=-1)
    for path in keys:
        if path not in bounded and _key_tightened(path, old.get(path), new.get(path), path in old, path in new):
            yield Tightening(path, old.get(path), new.get(path))


def _key_tightened(path: str, before: Any, after: Any, had: bool, has: bool) -> bool:
    name = _name(path)
    if name in _NO_EFFECT:
        return False
    if name == "ignore":
        return _IGNORE_ORDER.index(after or "IGNORE_UNSPECIFIED") > _IGNORE_ORDER.index(before or "IGNORE_UNSPECIFIED")
    if name == "strict":  # unset means true: strict validation of the well-known regex
        return (after is None or after is True) and before is False
    if not has:
        return False  # removed: loosened
    if name in _AT_LEAST:
        return bool(after > (before or 0))
    if name in _AT_MOST:
        return not had or bool(after < before)
    if name == "in":
        return not had or not set(after) >= set(before)
    if name == "not_in":
        return bool(set(after) - set(before or ()))
    if name in _EXPRESSIONS:
        return bool(set(_expressions(after)) - set(_expressions(before)))
    if isinstance(after, bool):
        return after and not before
    if isinstance(after, tuple) and had and isinstance(before, tuple):
        return bool(set(after) - set(before))  # repeated rules (a message's oneof rules): a new one tightens
    return not had or before != after


def _bound_moved(
    prefix: str, names: tuple[str, str], old: dict[str, Any], new: dict[str, Any], inward: int
) -> Iterator[Tightening]:
    """A lower (inward=1) or upper (inward=-1) bound that appeared or moved inward."""
    before, after = _bound(prefix, names, old, inward), _bound(prefix, names, new, inward)
    if after is None:
        return
    if before is None or (after[0] - before[0]) * inward > 0 or (after[0] == before[0] and after[1] > before[1]):
        yield Tightening(after[2], before[3] if before else None, after[3])


def _bound(prefix: str, names: tuple[str, str], rules: dict[str, Any], inward: int) -> tuple[Any, int, str, Any] | None:
    """(value, 1 when exclusive, path, value): `gt 5` excludes more than `gte 5`."""
    exclusive, inclusive = (f"{prefix}{name}" for name in names)
    if exclusive in rules:
        return rules[exclusive], 1, exclusive, rules[exclusive]
    if inclusive in rules:
        return rules[inclusive], 0, inclusive, rules[inclusive]
    return None


def _exclusive_range(rules: dict[str, Any], prefix: str) -> bool:
    lower = rules.get(f"{prefix}gt", rules.get(f"{prefix}gte"))
    upper = rules.get(f"{prefix}lt", rules.get(f"{prefix}lte"))
    return lower is not None and upper is not None and lower > upper


def _expressions(value: Any) -> list[str]:
    """The expressions of a `cel` list ((id, expression) pairs) or of `cel_expression` (strings)."""
    if not value:
        return []
    return [item[1] if isinstance(item, tuple) else str(item) for item in value]


def _parent(path: str) -> str:
    return path.rsplit(".", 1)[0] if "." in path else ""


def _name(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)
