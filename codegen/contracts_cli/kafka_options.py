"""The Kafka connection flags every command that talks to a cluster takes: one declaration.

Each falls back to its KAFKA_* variable (contracts_cli.kafka resolves them), as the runtimes do.
"""

from __future__ import annotations

from typing import Annotated

import typer

BootstrapServers = Annotated[
    str | None, typer.Option("--bootstrap-servers", help="HOST:PORT[,...] (default $KAFKA_BOOTSTRAP_SERVERS).")
]
SecurityProtocol = Annotated[
    str | None,
    typer.Option(
        "--security-protocol", help="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (default $KAFKA_SECURITY_PROTOCOL)."
    ),
]
SaslMechanism = Annotated[
    str | None, typer.Option("--sasl-mechanism", help="PLAIN, SCRAM-SHA-256, ... (default $KAFKA_SASL_MECHANISM).")
]
SaslUsername = Annotated[str | None, typer.Option("--sasl-username", help="SASL user (default $KAFKA_SASL_USERNAME).")]
SaslPassword = Annotated[
    str | None, typer.Option("--sasl-password", help="SASL password; prefer $KAFKA_SASL_PASSWORD.")
]
SslCaLocation = Annotated[
    str | None, typer.Option("--ssl-ca-location", help="CA certificate file (default $KAFKA_SSL_CA_LOCATION).")
]
SslCertificateLocation = Annotated[
    str | None,
    typer.Option(
        "--ssl-certificate-location", help="Client certificate file (default $KAFKA_SSL_CERTIFICATE_LOCATION)."
    ),
]
SslKeyLocation = Annotated[
    str | None, typer.Option("--ssl-key-location", help="Client key file (default $KAFKA_SSL_KEY_LOCATION).")
]
