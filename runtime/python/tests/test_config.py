"""client_config: arguments, environment, raw settings, and the mistakes it refuses."""

from __future__ import annotations

import pytest

from contracts_runtime import ConfigError, KafkaConfigError, client_config

SASL_ENV = {
    "KAFKA_BOOTSTRAP_SERVERS": "env:9092",
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "KAFKA_SASL_USERNAME": "alice",
    "KAFKA_SASL_PASSWORD": "secret",
    "KAFKA_SSL_CA_LOCATION": "/etc/ca.pem",
    "KAFKA_SSL_CERTIFICATE_LOCATION": "/etc/cert.pem",
    "KAFKA_SSL_KEY_LOCATION": "/etc/key.pem",
    "KAFKA_SSL_KEY_PASSWORD": "key-secret",
}


def test_reads_every_setting_from_the_environment() -> None:
    assert client_config(environ=SASL_ENV) == {
        "bootstrap.servers": "env:9092",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "alice",
        "sasl.password": "secret",
        "ssl.ca.location": "/etc/ca.pem",
        "ssl.certificate.location": "/etc/cert.pem",
        "ssl.key.location": "/etc/key.pem",
        "ssl.key.password": "key-secret",
    }


def test_arguments_beat_the_environment_and_raw_config_beats_both() -> None:
    settings = client_config(
        bootstrap_servers="arg:9092",
        sasl_username="bob",
        sasl_password="pw",
        config={"sasl.username": "carol", "linger.ms": 20, "enable.idempotence": False},
        environ=SASL_ENV,
    )
    assert settings["bootstrap.servers"] == "arg:9092"
    assert settings["sasl.username"] == "carol"
    assert settings["sasl.password"] == "pw"
    assert settings["linger.ms"] == "20"
    assert settings["enable.idempotence"] == "false"


def test_only_what_is_set_is_passed_on() -> None:
    assert client_config(bootstrap_servers="b:9092", environ={"KAFKA_SASL_MECHANISM": ""}) == {
        "bootstrap.servers": "b:9092"
    }


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "from-env:9092")
    monkeypatch.delenv("KAFKA_SECURITY_PROTOCOL", raising=False)
    monkeypatch.delenv("KAFKA_SASL_USERNAME", raising=False)
    monkeypatch.delenv("KAFKA_SASL_PASSWORD", raising=False)
    assert client_config()["bootstrap.servers"] == "from-env:9092"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "KAFKA_BOOTSTRAP_SERVERS"),
        ({"bootstrap_servers": "b", "security_protocol": "TLS"}, "not one of"),
        ({"bootstrap_servers": "b", "sasl_username": "u", "security_protocol": "SASL_SSL"}, "KAFKA_SASL_PASSWORD"),
        ({"bootstrap_servers": "b", "sasl_username": "u", "sasl_password": "p"}, "SASL_SSL or SASL_PLAINTEXT"),
        ({"bootstrap_servers": "b", "security_protocol": "SASL_PLAINTEXT"}, "needs credentials"),
    ],
)
def test_refuses_settings_that_cannot_work(arguments: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        client_config(**arguments, environ={})  # type: ignore[arg-type]


def test_sasl_mechanism_defaults_to_plain_for_sasl_protocols() -> None:
    environ = {"KAFKA_BOOTSTRAP_SERVERS": "b", "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "p"}
    assert client_config(security_protocol="SASL_PLAINTEXT", environ=environ)["sasl.mechanism"] == "PLAIN"
    chosen = client_config(security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-256", environ=environ)
    assert chosen["sasl.mechanism"] == "SCRAM-SHA-256"
    assert "sasl.mechanism" not in client_config(bootstrap_servers="b", security_protocol="SSL", environ={})


def test_the_old_error_name_still_catches_config_errors() -> None:
    assert KafkaConfigError is ConfigError
    with pytest.raises(KafkaConfigError):
        client_config(environ={})
