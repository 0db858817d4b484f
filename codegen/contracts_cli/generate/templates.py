"""Jinja2 over templates/<language>/: the templates only print what the language models decided."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contracts_cli.errors import ContractsError
from contracts_cli.resources import templates_dir

if TYPE_CHECKING:
    import jinja2


@cache
def _environment() -> jinja2.Environment:
    import jinja2  # only when rendering: the no-op check lists templates without loading Jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(template: str, **data: Any) -> str:
    import jinja2

    try:
        loaded = _environment().get_template(template)
    except jinja2.TemplateNotFound:
        raise ContractsError(
            f"template {template} is missing from {templates_dir()}: reinstall the contracts CLI"
        ) from None
    return loaded.render(**data)


def template_files(languages: Iterable[str]) -> list[Path]:
    """The templates of these languages (not docs/ or new/: editing those cannot change gen's output)."""
    return sorted(path for language in languages for path in (templates_dir() / language).rglob("*") if path.is_file())
