"""Typer commands only: parse flags, call one function, print, exit."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer

from contracts_cli.config import open_root
from contracts_cli.errors import EXIT_FINDINGS, EXIT_OK, ContractsError
from contracts_cli.kafka_options import (
    BootstrapServers,
    SaslMechanism,
    SaslPassword,
    SaslUsername,
    SecurityProtocol,
    SslCaLocation,
    SslCertificateLocation,
    SslKeyLocation,
)
from contracts_cli.report import OutputFormat, render

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


def _print_version(value: bool) -> None:
    if value:
        from contracts_cli.resources import cli_version

        print(f"contracts {cli_version()}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True),
    ] = False,
) -> None:
    """Protobuf contracts for Kafka: lint, breaking-change checks, code generation, topics."""


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
def init(
    directory: Annotated[Path, typer.Argument(help="The repository to make a registry (default: here).")] = Path("."),
    python_package: Annotated[
        str | None, typer.Option("--python-package", help="Import name of the generated Python package.")
    ] = None,
    python_distribution: Annotated[
        str | None, typer.Option("--python-distribution", help="pip name of the generated Python package.")
    ] = None,
    go_module: Annotated[
        str | None, typer.Option("--go-module", help="Module path of generated/go (<repository>/generated/go).")
    ] = None,
    rust_crate: Annotated[str | None, typer.Option("--rust-crate", help="Name of the generated crate.")] = None,
) -> None:
    """Create a registry: buf.yaml, contracts.toml, the topic option, a CI workflow, a README. Exit 0 or 2."""
    from dataclasses import replace

    from contracts_cli.init import default_names, init_registry, origin_url

    defaults = default_names(directory, origin_url(directory))
    names = replace(
        defaults,
        python_package=python_package or defaults.python_package,
        python_distribution=python_distribution or defaults.python_distribution,
        go_module=go_module or defaults.go_module,
        rust_crate=rust_crate or defaults.rust_crate,
    )
    result = init_registry(directory, names)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    for relative in result.created:
        print(f"created {relative}")
    for relative in result.skipped:
        print(f"skipped {relative} (exists, left as it is)")


@app.command()
@user_errors
def upgrade(root: RootOption = Path(".")) -> None:
    """Bring the registry's copy of the topic option (options.proto) up to this CLI's. Exit 0 or 2."""
    from contracts_cli.init import upgrade_options

    rewritten = upgrade_options(open_root(root))
    for path in rewritten:
        print(f"updated {path}")
    if not rewritten:
        print("up to date", file=sys.stderr)


@app.command()
@user_errors
def lint(root: RootOption = Path("."), output_format: FormatOption = OutputFormat.text) -> None:
    """Run buf lint and the registry rules. Exit 0 clean, 1 findings, 2 error."""
    from contracts_cli.lint import lint as run_lint

    _, findings = run_lint(open_root(root))
    _finish(render(findings, output_format) if findings or output_format.structured else "", len(findings))


@app.command()
@user_errors
def breaking(
    against: Annotated[
        str | None, typer.Option("--against", help="Git ref, registry directory or buf image to compare with.")
    ] = None,
    root: RootOption = Path("."),
    output_format: FormatOption = OutputFormat.text,
) -> None:
    """Check for breaking changes against REF (default origin/main, else main, else HEAD~1). Exit 0, 1 or 2."""
    from contracts_cli.breaking import breaking as run_breaking
    from contracts_cli.load import NothingToCompare, default_against

    registry_root = open_root(root)
    try:
        findings = run_breaking(registry_root, against or default_against(registry_root))
    except NothingToCompare as nothing:
        print(f"note: {nothing.message}", file=sys.stderr)
        findings = []
    _finish(render(findings, output_format) if findings or output_format.structured else "", len(findings))


@app.command()
@user_errors
def topics(root: RootOption = Path("."), output_format: FormatOption = OutputFormat.text) -> None:
    """List the topic bindings of the registry."""
    from contracts_cli.load import load_registry

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
            "validation": topic.validation,
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
    python_runtime: Annotated[
        str | None,
        typer.Option("--python-runtime", help="protobuf (default) or betterproto; overrides contracts.toml."),
    ] = None,
    root: RootOption = Path("."),
    output_format: FormatOption = OutputFormat.text,
) -> None:
    """Generate typed packages. Exit 0 ok, 1 stale files (--check), 2 error."""
    from contracts_cli.generate import RegistryRulesFailed, generate, parse_languages

    languages = parse_languages(lang)
    registry_root = open_root(root)
    if python_runtime:
        registry_root = registry_root.with_python_runtime(python_runtime)
    try:
        result = generate(registry_root, languages, out, check=check)
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


@app.command()
@user_errors
def docs(
    out: Annotated[
        Path, typer.Option("--out", help="Catalog directory, relative to the registry root; replaced as a whole.")
    ],
    root: RootOption = Path("."),
    bootstrap_servers: Annotated[
        str | None,
        typer.Option(
            "--bootstrap-servers",
            help="Also show each topic's partitions, end offsets and consumer lag on this cluster "
            "(security settings from KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_*).",
        ),
    ] = None,
) -> None:
    """Write a static HTML catalog of the topics and types, plus a Markdown index. Exit 0 or 2."""
    from contracts_cli.docs import write_docs

    result = write_docs(open_root(root), out, bootstrap_servers=bootstrap_servers)
    summary = f"catalog of {result.topics} topics and {result.types} shared types ({result.files} files)"
    print(f"{out}: {summary}", file=sys.stderr)


@app.command()
@user_errors
def new(
    domain: Annotated[
        str, typer.Argument(help="The package without its version, lower_snake_case (billing, billing.invoices).")
    ],
    message: Annotated[str, typer.Argument(help="Message type name, PascalCase (e.g. InvoicePaid).")],
    topic: Annotated[
        str | None, typer.Option("--topic", help="Topic name (default <domain>.<message-in-kebab-case>.v<N>).")
    ] = None,
    version: Annotated[int, typer.Option("--version", help="Major version N of the package <domain>.vN.")] = 1,
    owner: Annotated[str | None, typer.Option("--owner", help="Owning team (default team-<domain>).")] = None,
    root: RootOption = Path("."),
) -> None:
    """Scaffold proto/DOMAIN/vN/<message>.proto bound to a new topic. Exit 0 or 2."""
    from contracts_cli.scaffold import scaffold

    print(scaffold(open_root(root), domain, message, topic=topic, version=version, owner=owner))


@app.command("new-service")
@user_errors
def new_service(
    name: Annotated[
        str | None, typer.Argument(help="Service name: lowercase letters, digits, hyphens (e.g. order-audit).")
    ] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="python, go or rust.")] = None,
    consumes: Annotated[
        list[str] | None, typer.Option("--consumes", help="A bound topic the service consumes (repeat).")
    ] = None,
    produces: Annotated[
        list[str] | None, typer.Option("--produces", help="A bound topic the service produces to (repeat).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="New or empty directory (default: ../NAME beside the registry).")
    ] = None,
    principal: Annotated[
        str | None, typer.Option("--principal", help="Kafka principal of the service (default User:NAME).")
    ] = None,
    update: Annotated[
        Path | None,
        typer.Option("--update", help="Update the service in this directory to this CLI's template.", file_okay=False),
    ] = None,
    template: Annotated[
        str | None, typer.Option("--template", hidden=True, help="A Copier template repository of one's own.")
    ] = None,
    root: RootOption = Path("."),
) -> None:
    """Create a service repository typed by the registry, and grant its principal the topics. Exit 0, 1 or 2.

    With --update DIR: bring a newer template into that service (exit 1 when files have conflicts).
    """
    from contracts_cli.service import new_service as create
    from contracts_cli.service import update_service

    if update is not None:
        updated = update_service(update, template=template)
        print(f"{updated.directory}: template {updated.template_version}", file=sys.stderr)
        for path in updated.conflicts:
            print(f"conflict: {path}")
        if updated.conflicts:
            print("error: resolve the conflict markers, then commit", file=sys.stderr)
            raise typer.Exit(EXIT_FINDINGS)
        return
    if name is None or lang is None:
        raise ContractsError("give NAME and --lang python|go|rust (or --update DIR)")
    created = create(
        open_root(root),
        name,
        language=lang,
        consumes=consumes or [],
        produces=produces or [],
        out=out,
        principal=principal,
        template=template,
    )
    for note in created.notes:
        print(f"note: {note}", file=sys.stderr)
    for path in created.edited_contracts:
        print(f"updated {path}")
    print(created.directory)
    print(f"{created.directory}: template {created.template_version}", file=sys.stderr)


@app.command()
@user_errors
def apply(
    bootstrap_servers: BootstrapServers = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and change nothing.")] = False,
    max_replication_factor: Annotated[
        int | None,
        typer.Option(
            "--max-replication-factor",
            min=1,
            help="Cap every topic's replication factor (and min.insync.replicas with it), for small dev clusters.",
        ),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="Plan format: text or json.")] = "text",
    root: RootOption = Path("."),
    security_protocol: SecurityProtocol = None,
    sasl_mechanism: SaslMechanism = None,
    sasl_username: SaslUsername = None,
    sasl_password: SaslPassword = None,
    ssl_ca_location: SslCaLocation = None,
    ssl_certificate_location: SslCertificateLocation = None,
    ssl_key_location: SslKeyLocation = None,
) -> None:
    """Create and update the registry's topics, dead-letter topics and ACLs on a cluster. Exit 0, 1 or 2.

    0: applied, or nothing to do. 1: the plan holds changes Kafka cannot make; nothing was applied. 2: error.
    """
    from contracts_cli.apply import ApplyRequest, ConnectionFlags, apply_registry, parse_format, render_plan

    plan_format = parse_format(output_format)
    connection = ConnectionFlags(
        bootstrap_servers, security_protocol, sasl_mechanism, sasl_username, sasl_password,
        ssl_ca_location, ssl_certificate_location, ssl_key_location,
    )
    outcome = apply_registry(
        open_root(root),
        ApplyRequest(connection, dry_run=dry_run, max_replication_factor=max_replication_factor),
        show_plan=lambda plan: print(render_plan(plan, plan_format, dry_run=dry_run), flush=True),
    )
    print(outcome.message, file=sys.stderr)
    raise typer.Exit(outcome.exit_code)


@app.command()
@user_errors
def release(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the next version and the tags; change nothing.")
    ] = False,
    root: RootOption = Path("."),
    output_format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Version the generated packages from what changed since the last release; regenerate, commit, tag."""
    from contracts_cli.release import plan_release, publish_release, require_clean_tree

    registry_root = open_root(root)
    if not dry_run:
        require_clean_tree(registry_root.path)
    plan = plan_release(registry_root)
    if output_format == "json":
        print(json.dumps({**vars(plan), "tags": plan.tags}, indent=2))
    else:
        since = f"since {plan.previous_tag}" if plan.previous_tag else "(first release)"
        print(f"{plan.kind}: {plan.current_version} -> {plan.version} {since}")
        for reason in plan.reasons[:20]:
            print(f"  {reason}")
        if len(plan.reasons) > 20:
            print(f"  ... and {len(plan.reasons) - 20} more")
    if dry_run or plan.kind == "none":
        if plan.tags:
            print(f"would tag: {' '.join(plan.tags)}", file=sys.stderr)
        return
    publish_release(registry_root, plan)
    print(f"tagged: {' '.join(plan.tags)}", file=sys.stderr)


# `contracts dlq inspect|replay`: a sub-app of its own, imported after user_errors (its commands use it).
from contracts_cli.dlq.commands import dlq_app  # noqa: E402

app.add_typer(dlq_app, name="dlq")


def main() -> None:
    app()
