"""Transforms: typed functions between the reader and the writer, registered by name.

A transform is a function `def to_crm(msg: PreferenceChanged) -> CrmContact | None` (returning
None drops the record), shipped in a package that declares it in the entry-point group
`contracts.transforms`. `CONNECT_TRANSFORMS=name,name:arg:arg` names them in order; `name:args`
calls the registered object with the arguments (strings) and uses the transform it returns, which
is how the built-ins (`mask:email`, `clear:changed_by.ip_address`, `require:user_id`) take their
parameters. The chain's types are checked from the annotations before anything is consumed.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Final

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from contracts_runtime.connect.errors import ConnectConfigError

ENTRY_POINT_GROUP: Final = "contracts.transforms"
MASK: Final = "***"


@dataclass(frozen=True, slots=True)
class Transform:
    """One step of the chain. `input_type` None: any message, and the output is the same type."""

    name: str
    function: Callable[[Any], Any]
    input_type: type | None
    output_type: type | None
    check: Callable[[type], None] | None = None

    def output_for(self, input_type: type) -> type:
        if self.input_type is not None and self.input_type is not input_type:
            raise ConnectConfigError(
                f"transform {self.name} takes {_type_name(self.input_type)}, but receives {_type_name(input_type)}"
            )
        if self.check is not None:
            self.check(input_type)
        return input_type if self.output_type is None else self.output_type


def transform(
    name: str | None = None, *, check: Callable[[type], None] | None = None
) -> Callable[[Callable[[Any], Any]], Transform]:
    """Decorator for a type-preserving transform over any message type (as the built-ins are)."""

    def wrap(function: Callable[[Any], Any]) -> Transform:
        return Transform(name or function.__name__, function, None, None, check)

    return wrap


def from_function(name: str, function: object) -> Transform:
    """A Transform from an annotated function; its parameter and return annotations give the types."""
    if isinstance(function, Transform):
        return function
    if not callable(function):
        raise ConnectConfigError(f"transform {name}: {function!r} is not callable")
    try:
        hints = typing.get_type_hints(function)
        parameters = list(inspect.signature(function).parameters.values())
    except (NameError, TypeError, ValueError) as error:
        raise ConnectConfigError(f"transform {name}: cannot read its annotations ({error})") from None
    if len(parameters) != 1 or parameters[0].name not in hints or "return" not in hints:
        raise ConnectConfigError(
            f"transform {name}: expected one annotated parameter and a return annotation, "
            "e.g. def to_crm(msg: PreferenceChanged) -> CrmContact | None"
        )
    input_type = hints[parameters[0].name]
    output_type = _without_none(hints["return"])
    for role, kind in (("parameter", input_type), ("return", output_type)):
        if not (isinstance(kind, type) and issubclass(kind, Message)):
            raise ConnectConfigError(f"transform {name}: its {role} type {kind!r} is not a protobuf message class")
    return Transform(name, typing.cast(Callable[[Any], Any], function), input_type, typing.cast(type, output_type))


def _without_none(annotation: object) -> object:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = [option for option in typing.get_args(annotation) if option is not type(None)]
        if len(options) == 1:
            return options[0]
    return annotation


def registered() -> dict[str, object]:
    """Name -> registered object: the built-ins, then the `contracts.transforms` entry points."""
    found: dict[str, object] = dict(BUILT_INS)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in found:
            raise ConnectConfigError(f"transform {entry.name} is registered twice (entry point {entry.value})")
        try:
            found[entry.name] = entry.load()
        except Exception as error:
            raise ConnectConfigError(f"transform {entry.name}: cannot load {entry.value} ({error})") from None
    return found


def resolve(specs: Sequence[str], available: dict[str, object] | None = None) -> list[Transform]:
    """The transforms named in CONNECT_TRANSFORMS, in order (`name` or `name:arg[:arg...]`)."""
    available = registered() if available is None else available
    chain = []
    for spec in specs:
        name, *arguments = spec.split(":")
        target = available.get(name)
        if target is None:
            known = ", ".join(sorted(available)) or "none"
            raise ConnectConfigError(f"CONNECT_TRANSFORMS: unknown transform {name!r} (registered: {known})")
        if arguments:
            if not callable(target):
                raise ConnectConfigError(f"transform {name} takes no arguments ({spec})")
            try:
                target = target(*arguments)
            except (TypeError, ValueError) as error:
                raise ConnectConfigError(f"transform {spec}: {error}") from None
        chain.append(from_function(spec, target))
    return chain


def check_chain(chain: Iterable[Transform], input_type: type) -> type:
    """The chain's output type for `input_type`; raises ConnectConfigError at the first mismatch."""
    current = input_type
    for step in chain:
        current = step.output_for(current)
    return current


def _type_name(kind: type) -> str:
    descriptor = getattr(kind, "DESCRIPTOR", None)
    return str(getattr(descriptor, "full_name", kind.__qualname__))


# --- built-ins ------------------------------------------------------------------------------


def _field_path(message_type: type, path: str, allowed: tuple[int, ...], what: str) -> None:
    descriptor: Any = message_type.DESCRIPTOR  # type: ignore[attr-defined]
    parts = path.split(".")
    for index, part in enumerate(parts):
        field = descriptor.fields_by_name.get(part)
        if field is None:
            raise ConnectConfigError(f"{what}: {descriptor.full_name} has no field {part!r} (in {path!r})")
        last = index == len(parts) - 1
        if not last:
            if field.type != FieldDescriptor.TYPE_MESSAGE or _repeated(field):
                raise ConnectConfigError(f"{what}: {path!r} goes through {part!r}, which is not a single message")
            descriptor = field.message_type
        elif allowed and (field.type not in allowed or _repeated(field)):
            raise ConnectConfigError(f"{what}: {path!r} is not a string or bytes field")


def _repeated(field: Any) -> bool:
    return bool(field.is_repeated)


def _parent(message: Message, path: str) -> tuple[Message | None, str]:
    *parents, last = path.split(".")
    current = message
    for part in parents:
        if not current.HasField(part):
            return None, last
        current = getattr(current, part)
    return current, last


def mask(*paths: str) -> Transform:
    """`mask:email[:other.path]`: replaces non-empty string fields with `***` (bytes fields are emptied)."""
    if not paths:
        raise ValueError("mask needs at least one field, e.g. mask:email")
    text_kinds = (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES)

    def check(message_type: type) -> None:
        for path in paths:
            _field_path(message_type, path, text_kinds, f"transform mask:{path}")

    def run(message: Message) -> Message:
        for path in paths:
            parent, name = _parent(message, path)
            if parent is not None:
                value = getattr(parent, name)
                if value:
                    setattr(parent, name, MASK if isinstance(value, str) else b"")
        return message

    return Transform("mask:" + ":".join(paths), run, None, None, check)


def clear(*paths: str) -> Transform:
    """`clear:changed_by.ip_address[:...]`: clears fields of any kind (they are not written)."""
    if not paths:
        raise ValueError("clear needs at least one field, e.g. clear:changed_by.ip_address")

    def check(message_type: type) -> None:
        for path in paths:
            _field_path(message_type, path, (), f"transform clear:{path}")

    def run(message: Message) -> Message:
        for path in paths:
            parent, name = _parent(message, path)
            if parent is not None:
                parent.ClearField(name)
        return message

    return Transform("clear:" + ":".join(paths), run, None, None, check)


def require(*paths: str) -> Transform:
    """`require:user_id[:...]`: drops records in which one of the fields is unset or empty."""
    if not paths:
        raise ValueError("require needs at least one field, e.g. require:user_id")

    def check(message_type: type) -> None:
        for path in paths:
            _field_path(message_type, path, (), f"transform require:{path}")

    def run(message: Message) -> Message | None:
        for path in paths:
            parent, name = _parent(message, path)
            if parent is None or not _present(parent, name):
                return None
        return message

    return Transform("require:" + ":".join(paths), run, None, None, check)


def _present(message: Message, name: str) -> bool:
    field = message.DESCRIPTOR.fields_by_name[name]
    if field.type == FieldDescriptor.TYPE_MESSAGE and not _repeated(field):
        return message.HasField(name)
    return bool(getattr(message, name))


BUILT_INS: Final[dict[str, object]] = {"mask": mask, "clear": clear, "require": require}
