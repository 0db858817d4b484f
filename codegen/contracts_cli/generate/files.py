"""The generated tree, held in memory until every language has succeeded."""

from __future__ import annotations

# Path relative to the output directory ("python/registry_contracts/topics.py") -> file content.
GeneratedFiles = dict[str, bytes]


class _Kept(bytes):
    """The content of a file that an incremental gen leaves as it is on disk."""


# Stands for a plugin output of a package whose inputs did not change since the last gen and whose
# file still has the size and mtime recorded then: renderers see its name (a Python package still
# needs its directory's __init__.py) but must not read or rewrite its content.
KEPT: bytes = _Kept()


def is_kept(content: bytes) -> bool:
    return content is KEPT
