"""`contracts docs`: a static HTML catalog of the registry, plus a Markdown index.

registry model + git history (+ a cluster snapshot) -> catalog model (catalog.py) -> pages
(render.py). Nothing is written until every page is rendered; then the catalog replaces the
output directory in one rename.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from contracts_cli.config import RegistryRoot
from contracts_cli.docs.catalog import build_catalog
from contracts_cli.docs.cluster import read_cluster
from contracts_cli.docs.history import GitHistory
from contracts_cli.docs.render import check_output, publish, render_catalog
from contracts_cli.load import load_registry


@dataclass(frozen=True)
class DocsResult:
    out: Path
    topics: int
    types: int
    files: int


def write_docs(root: RegistryRoot, out: Path, bootstrap_servers: str | None = None) -> DocsResult:
    """Write the catalog of `root` to `out` (relative to the registry root unless absolute)."""
    out = out if out.is_absolute() else root.path / out
    check_output(out)
    registry = load_registry(root)
    history = GitHistory(root.path)
    snapshot = read_cluster((t.name for t in registry.topics), bootstrap_servers) if bootstrap_servers else None
    catalog = build_catalog(registry, root.settings, history.changes, history.available, snapshot)
    files = render_catalog(catalog)
    publish(files, out)
    return DocsResult(out=out, topics=len(catalog.topics), types=len(catalog.types), files=len(files))


__all__ = ["DocsResult", "write_docs"]
