"""The bound topics a connector knows: every `Topic` constant of the CONNECT_CONTRACTS modules."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from contracts_runtime import Topic
from contracts_runtime.connect.errors import ConnectConfigError


def load_topics(modules: Iterable[str]) -> dict[str, Topic[Any]]:
    """Topic name -> binding, from the generated `topics` modules (e.g. registry_contracts.topics)."""
    topics: dict[str, Topic[Any]] = {}
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise ConnectConfigError(
                f"CONNECT_CONTRACTS: cannot import {module_name} ({error}); install the generated contracts package"
            ) from None
        for value in vars(module).values():
            if isinstance(value, Topic):
                topics.setdefault(value.name, value)
    return topics


def bound_topic(topics: dict[str, Topic[Any]], name: str, variable: str) -> Topic[Any]:
    topic = topics.get(name)
    if topic is None:
        known = ", ".join(sorted(topics)) or "none"
        raise ConnectConfigError(f"{variable}: topic {name!r} has no contract (bound topics: {known})")
    return topic
