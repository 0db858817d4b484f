"""Catalog model -> HTML pages and a Markdown index, written whole or not at all.

Pages are rendered in memory first; only then is a new directory written beside the output and
swapped into place, so an error at any point leaves the previous catalog (or nothing) behind.
HTML templates autoescape everything; the Markdown index escapes through the `md` filter.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from functools import cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from contracts_cli.docs.catalog import Catalog, search_payload
from contracts_cli.errors import ContractsError
from contracts_cli.resources import templates_dir

# A catalog directory holds this file; `contracts docs` only ever replaces directories that do.
MARKER = ".contracts-docs"
MARKER_TEXT = "Written by `contracts docs`: the next run replaces this whole directory.\n"
_MARKDOWN_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>|#"})


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=lambda name: name is not None and ".html" in name,
    )
    environment.filters["md"] = markdown_text
    return environment


def markdown_text(value: object) -> str:
    """Plain text as one Markdown table cell: special characters escaped, lines joined."""
    return " ".join(str(value).split()).translate(_MARKDOWN_SPECIAL)


def _asset(name: str) -> Markup:
    text = (templates_dir() / "docs" / name).read_text(encoding="utf-8")
    return Markup(text)  # our own stylesheet and script, never text from a proto


def _script_json(data: object) -> Markup:
    """JSON that is safe inside <script>: no `</script>`, no `<!--`, no line separators."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return Markup(text)


def render_catalog(catalog: Catalog) -> dict[str, str]:
    """Every file of the catalog, by path relative to its root."""
    environment = _environment()
    common = {"catalog": catalog, "css": _asset("catalog.css")}
    files = {
        "index.html": environment.get_template("docs/index.html.j2").render(
            root="", search_json=_script_json(search_payload(catalog.search)), search_js=_asset("search.js"), **common
        ),
        "README.md": environment.get_template("docs/README.md.j2").render(catalog=catalog),
        MARKER: MARKER_TEXT,
    }
    topic_template = environment.get_template("docs/topic.html.j2")
    for topic in catalog.topics:
        files[topic.href] = topic_template.render(root="../", topic=topic, **common)
    type_template = environment.get_template("docs/type.html.j2")
    for shared in catalog.types:
        files[shared.href] = type_template.render(root="../", type=shared, **common)
    return files


def check_output(out: Path) -> None:
    """Refuse, before any work, to replace something that is not an earlier catalog."""
    if not (out.exists() or out.is_symlink()):
        return
    if not out.is_dir() or out.is_symlink():
        raise ContractsError(f"--out {out} exists and is not a directory: choose another --out")
    if (out / MARKER).is_file():
        return
    if any(out.iterdir()):
        raise ContractsError(
            f"--out {out} is not empty and was not written by contracts docs: choose another --out or empty it"
        )


def publish(files: dict[str, str], out: Path) -> None:
    """Write `files` into a new directory beside `out`, then swap it into place."""
    check_output(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    staging = out.with_name(f".{out.name}.partial-{token}")
    previous = out.with_name(f".{out.name}.old-{token}")
    try:
        staging.mkdir()
        for relative, content in sorted(files.items()):
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        if out.exists():
            os.rename(out, previous)
        try:
            os.rename(staging, out)
        except BaseException:
            if previous.exists():
                os.rename(previous, out)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(previous, ignore_errors=True)
