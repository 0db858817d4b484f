"""Typer commands of `contracts dlq`: parse flags, call one function, print, exit.

The connection flags are `contracts apply`'s, with the same names, help and KAFKA_* fallbacks
(contracts_cli.kafka resolves them for both). Everything heavier than Typer is imported inside the
commands, as in cli.py, so that registering the sub-app costs the other commands nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from contracts_cli.cli import RootOption, user_errors
from contracts_cli.config import open_root
from contracts_cli.errors import ContractsError
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

dlq_app: typer.Typer = typer.Typer(
    help="Look into a topic's dead letters and replay them under the current contract.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

TopicArgument = Annotated[str, typer.Argument(help="The bound topic; its <TOPIC>.dlq is read.")]
ReasonOption = Annotated[
    str | None,
    typer.Option("--reason", help="Only dead letters of this reason: decode, wrong-type, validation, handler."),
]
RuleOption = Annotated[
    str | None, typer.Option("--rule", help="Only dead letters that broke this rule id (e.g. string.email).")
]
REASONS = ("decode", "wrong-type", "validation", "handler")


@dlq_app.command()
@user_errors
def inspect(
    topic: TopicArgument,
    reason: ReasonOption = None,
    rule: RuleOption = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Examples shown per group.")] = 3,
    output_format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    root: RootOption = Path("."),
    bootstrap_servers: BootstrapServers = None,
    security_protocol: SecurityProtocol = None,
    sasl_mechanism: SaslMechanism = None,
    sasl_username: SaslUsername = None,
    sasl_password: SaslPassword = None,
    ssl_ca_location: SslCaLocation = None,
    ssl_certificate_location: SslCertificateLocation = None,
    ssl_key_location: SslKeyLocation = None,
) -> None:
    """Show TOPIC's dead letters grouped by reason and rule, with examples decoded through the contract. Exit 0 or 2."""
    from contracts_cli.dlq.inspect import render_json, render_text
    from contracts_cli.dlq.run import DlqRequest, inspect_dlq
    from contracts_cli.kafka import ConnectionFlags

    if output_format not in ("text", "json"):
        raise ContractsError(f"--format takes text or json, not {output_format!r}")
    connection = ConnectionFlags(
        bootstrap_servers, security_protocol, sasl_mechanism, sasl_username, sasl_password,
        ssl_ca_location, ssl_certificate_location, ssl_key_location,
    )  # fmt: skip
    request = DlqRequest(topic, connection, _reason(reason), rule)
    inspection = inspect_dlq(open_root(root), request, limit=limit)
    print(render_json(inspection) if output_format == "json" else render_text(inspection))


@dlq_app.command()
@user_errors
def replay(
    topic: TopicArgument,
    reason: ReasonOption = None,
    rule: RuleOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Judge every dead letter; republish and commit nothing.")
    ] = False,
    root: RootOption = Path("."),
    bootstrap_servers: BootstrapServers = None,
    security_protocol: SecurityProtocol = None,
    sasl_mechanism: SaslMechanism = None,
    sasl_username: SaslUsername = None,
    sasl_password: SaslPassword = None,
    ssl_ca_location: SslCaLocation = None,
    ssl_certificate_location: SslCertificateLocation = None,
    ssl_key_location: SslKeyLocation = None,
) -> None:
    """Republish TOPIC's dead letters that the current contract accepts to TOPIC, once each. Exit 0 or 2.

    Still-invalid dead letters stay where they are and are counted; a later replay looks at them again.
    """
    from contracts_cli.dlq.replay import render_report
    from contracts_cli.dlq.run import DlqRequest, replay_dlq
    from contracts_cli.kafka import ConnectionFlags

    connection = ConnectionFlags(
        bootstrap_servers, security_protocol, sasl_mechanism, sasl_username, sasl_password,
        ssl_ca_location, ssl_certificate_location, ssl_key_location,
    )  # fmt: skip
    request = DlqRequest(topic, connection, _reason(reason), rule)
    report = replay_dlq(open_root(root), request, dry_run=dry_run)
    print(render_report(report))
    sys.stdout.flush()


def _reason(reason: str | None) -> str | None:
    if reason is not None and reason not in REASONS:
        raise ContractsError(f"--reason takes {', '.join(REASONS)}, not {reason!r}")
    return reason
