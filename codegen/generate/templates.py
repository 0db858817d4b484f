"""Jinja2 over templates/<language>/: the templates only print what the language models decided."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "templates"


@cache
def _environment() -> jinja2.Environment:
    import jinja2  # only when rendering: the no-op check lists templates without loading Jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(template: str, **data: Any) -> str:
    return _environment().get_template(template).render(**data)


def template_files(languages: Iterable[str]) -> list[Path]:
    """The templates of these languages (not docs/ or new/: editing those cannot change gen's output)."""
    return sorted(path for language in languages for path in (TEMPLATES_DIR / language).rglob("*") if path.is_file())
