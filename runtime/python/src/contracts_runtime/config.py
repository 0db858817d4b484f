"""librdkafka settings from arguments and the environment, shared by every client and the CLI.

Precedence, highest first: the `config=` dict of raw librdkafka settings, explicit arguments,
environment variables. Only what is set is passed on, so librdkafka's defaults stay in force.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final, TypedDict

from contracts_runtime.errors import ConfigError

ConfigValue = str | int | float | bool

BOOTSTRAP_ENV: Final = "KAFKA_BOOTSTRAP_SERVERS"

# argument name -> (environment variable, librdkafka property)
_SETTINGS: Final = {
    "bootstrap_servers": (BOOTSTRAP_ENV, "bootstrap.servers"),
    "security_protocol": ("KAFKA_SECURITY_PROTOCOL", "security.protocol"),
    "sasl_mechanism": ("KAFKA_SASL_MECHANISM", "sasl.mechanism"),
    "sasl_username": ("KAFKA_SASL_USERNAME", "sasl.username"),
    "sasl_password": ("KAFKA_SASL_PASSWORD", "sasl.password"),
    "ssl_ca_location": ("KAFKA_SSL_CA_LOCATION", "ssl.ca.location"),
    "ssl_certificate_location": ("KAFKA_SSL_CERTIFICATE_LOCATION", "ssl.certificate.location"),
    "ssl_key_location": ("KAFKA_SSL_KEY_LOCATION", "ssl.key.location"),
    "ssl_key_password": ("KAFKA_SSL_KEY_PASSWORD", "ssl.key.password"),
}
_PROTOCOLS: Final = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
_PASSWORD_MECHANISMS: Final = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class ConnectionOptions(TypedDict, total=False):
    """Keyword arguments every client takes; unset ones come from the KAFKA_* environment variables."""

    bootstrap_servers: str
    security_protocol: str
    sasl_mechanism: str
    sasl_username: str
    sasl_password: str
    ssl_ca_location: str
    ssl_certificate_location: str
    ssl_key_location: str
    ssl_key_password: str


def client_config(
    *,
    bootstrap_servers: str | None = None,
    security_protocol: str | None = None,
    sasl_mechanism: str | None = None,
    sasl_username: str | None = None,
    sasl_password: str | None = None,
    ssl_ca_location: str | None = None,
    ssl_certificate_location: str | None = None,
    ssl_key_location: str | None = None,
    ssl_key_password: str | None = None,
    config: Mapping[str, ConfigValue] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The librdkafka settings for one client; raises ConfigError when they cannot work."""
    env = os.environ if environ is None else environ
    arguments = {
        "bootstrap_servers": bootstrap_servers,
        "security_protocol": security_protocol,
        "sasl_mechanism": sasl_mechanism,
        "sasl_username": sasl_username,
        "sasl_password": sasl_password,
        "ssl_ca_location": ssl_ca_location,
        "ssl_certificate_location": ssl_certificate_location,
        "ssl_key_location": ssl_key_location,
        "ssl_key_password": ssl_key_password,
    }
    settings: dict[str, str] = {}
    for argument, (variable, prop) in _SETTINGS.items():
        value = arguments[argument]
        if value is None:
            value = env.get(variable) or None
        if value is not None:
            settings[prop] = value
    for prop, raw in (config or {}).items():
        settings[prop] = _text(raw)
    _check(settings)
    if settings.get("security.protocol", "").upper().startswith("SASL_"):
        # docs/runtime.md: PLAIN unless said otherwise (librdkafka's own default is GSSAPI, which
        # nobody configuring a username and password means).
        mechanism = settings.setdefault("sasl.mechanism", "PLAIN")
        if mechanism.upper() in _PASSWORD_MECHANISMS and "sasl.username" not in settings:
            raise ConfigError(
                f"security protocol {settings['security.protocol']} with SASL mechanism {mechanism} needs "
                "credentials: set KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
    return settings


def _text(value: ConfigValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _check(settings: dict[str, str]) -> None:
    if not settings.get("bootstrap.servers"):
        raise ConfigError(f"no Kafka bootstrap servers: pass bootstrap_servers='host:9092' or set {BOOTSTRAP_ENV}")
    protocol = settings.get("security.protocol")
    if protocol is not None and protocol.upper() not in _PROTOCOLS:
        raise ConfigError(
            f"security protocol {protocol!r} is not one of {', '.join(_PROTOCOLS)} (KAFKA_SECURITY_PROTOCOL)"
        )
    has_user = "sasl.username" in settings
    has_password = "sasl.password" in settings
    if has_user != has_password:
        missing = "KAFKA_SASL_PASSWORD" if has_user else "KAFKA_SASL_USERNAME"
        raise ConfigError(f"SASL credentials are incomplete: set {missing} as well")
    if has_user and not (protocol or "").upper().startswith("SASL_"):
        raise ConfigError(
            "SASL credentials are set but the security protocol is "
            f"{protocol or 'unset (PLAINTEXT)'}: set KAFKA_SECURITY_PROTOCOL to SASL_SSL or SASL_PLAINTEXT"
        )


def describe(settings: Mapping[str, str]) -> str:
    """The settings for an error message, with secrets hidden."""
    shown = {prop: ("***" if "password" in prop or "secret" in prop else value) for prop, value in settings.items()}
    return ", ".join(f"{prop}={value}" for prop, value in sorted(shown.items()))
