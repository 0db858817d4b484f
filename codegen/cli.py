"""Typer commands only: parse flags, call one function, print, exit."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer

from codegen.config import open_root
from codegen.errors import EXIT_FINDINGS, EXIT_OK, ContractsError
from codegen.report import OutputFormat, render

app = typer.Typer(
    help="Protobuf contracts for Kafka: lint, breaking-change checks, code generation, topics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

P = ParamSpec("P")
R = TypeVar("R")

RootOption = Annotated[
    Path, typer.Option("--root", help="Registry checkout (a directory holding buf.yaml and proto/).", file_okay=False)
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]


def user_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn ContractsError into one line on stderr and its exit code; anything else is a bug and raises."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ContractsError as error:
            where = f"{error.location}: " if error.location else ""
            print(f"{where}error: {error.message}", file=sys.stderr)
            raise typer.Exit(error.exit_code) from None

    return run


def _finish(findings_text: str, count: int) -> None:
    if findings_text:
        print(findings_text)
    raise typer.Exit(EXIT_FINDINGS if count else EXIT_OK)


@app.command()
@user_errors
def lint(root: RootOption = Path("."), output_format: FormatOption = OutputFormat.text) -> None:
    """Run buf lint and the registry rules. Exit 0 clean, 1 findings, 2 error."""
    from codegen.lint import lint as run_lint

    _, findings = run_lint(open_root(root))
    _finish(render(findings, output_format) if findings or output_format is OutputFormat.json else "", len(findings))


@app.command()
@user_errors
def breaking(
    against: Annotated[
        str | None, typer.Option("--against", help="Git ref, registry directory or buf image to compare with.")
    ] = None,
    root: RootOption = Path("."),
    output_format: FormatOption = OutputFormat.text,
) -> None:
    """Check for breaking changes against REF (default origin/main, else main). Exit 0, 1 or 2."""
    from codegen.breaking import breaking as run_breaking
    from codegen.load import default_against

    registry_root = open_root(root)
    findings = run_breaking(registry_root, against or default_against(registry_root))
    _finish(render(findings, output_format) if findings or output_format is OutputFormat.json else "", len(findings))


@app.command()
@user_errors
def topics(root: RootOption = Path("."), output_format: FormatOption = OutputFormat.text) -> None:
    """List the topic bindings of the registry."""
    from codegen.load import load_registry

    registry = load_registry(open_root(root))
    rows = [
        {
            "topic": topic.name,
            "message": topic.message,
            "file": topic.location.path,
            "line": topic.location.line,
            "key": topic.key or None,
            "partitions": topic.partitions,
            "replication_factor": topic.replication_factor,
            "retention": topic.retention or None,
            "retention_ms": topic.retention_ms,
            "cleanup_policy": topic.cleanup_policy or "delete",
            "owner": topic.owner or None,
            "producers": list(topic.producers),
            "consumers": list(topic.consumers),
            "compatibility": topic.compatibility,
        }
        for topic in registry.topics
    ]
    if output_format is OutputFormat.json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        print(f"{row['topic']}\t{row['message']}\tkey={row['key'] or '-'}\towner={row['owner'] or '-'}\t{row['file']}")


@app.command()
@user_errors
def gen(
    lang: Annotated[str, typer.Option("--lang", help="Languages to generate: python,go,rust.")] = "python,go,rust",
    out: Annotated[Path, typer.Option("--out", help="Output directory, relative to the registry root.")] = Path(
        "generated"
    ),
    check: Annotated[bool, typer.Option("--check", help="Write nothing; exit 1 listing stale files.")] = False,
    root: RootOption = Path("."),
    output_format: FormatOption = OutputFormat.text,
) -> None:
    """Generate typed packages. Exit 0 ok, 1 stale files (--check), 2 error."""
    from codegen.generate import RegistryRulesFailed, generate, parse_languages

    languages = parse_languages(lang)
    try:
        result = generate(open_root(root), languages, out, check=check)
    except RegistryRulesFailed as failure:
        print(render(failure.findings, output_format), file=sys.stderr)
        raise
    if check:
        for line in result.stale:
            print(line)
        if result.stale:
            print(f"error: {len(result.stale)} generated file(s) out of date: run contracts gen", file=sys.stderr)
            raise typer.Exit(EXIT_FINDINGS)
        return
    if result.cached:
        print(f"{out}: up to date", file=sys.stderr)
        return
    changed = len(result.written) + len(result.deleted)
    summary = f"{len(result.written)} written, {len(result.deleted)} deleted" if changed else "no changes"
    print(f"{out}: {summary} ({', '.join(languages)})", file=sys.stderr)


def main() -> None:
    app()
