"""The generated tree, held in memory until every language has succeeded."""

from __future__ import annotations

# Path relative to the output directory ("python/registry_contracts/topics.py") -> file content.
GeneratedFiles = dict[str, bytes]
