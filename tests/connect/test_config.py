"""Misconfigurations are one line and exit 2, before anything is consumed; --check and --print-ddl."""

from __future__ import annotations

import psycopg
import pytest

from tests.connect.conftest import Bindings, Connectors, committed_offsets
from tests.connect.helpers import AUDIENCE, EMAIL, PREFERENCES, preferences_topic, produce, register_transforms

pytestmark = pytest.mark.kafka


def _one_line_error(result: object) -> str:
    stderr = getattr(result, "stderr", "")
    errors = [line for line in stderr.splitlines() if line.startswith("contracts-connect: error:")]
    assert getattr(result, "returncode", None) == 2, stderr
    assert len(errors) == 1, stderr
    assert "Traceback" not in stderr
    return errors[0]


@pytest.fixture
def bound(bindings: Bindings) -> Bindings:
    bindings.bind(
        {
            "PREFS": ("prefs", PREFERENCES, "user_id"),
            "AUDIENCE": ("audience", AUDIENCE, "user_id"),
            "EMAIL": ("email", EMAIL, None),
        }
    )
    return bindings


def test_check_validates_without_connecting(bound: Bindings, connectors: Connectors) -> None:
    env = connectors.env(
        bound,
        CONNECT_NAME="c1",
        CONNECT_READER=f"kafka:{bound.name('prefs')}",
        CONNECT_WRITER="postgres:crm",
        CONNECT_TRANSFORMS="mask:changed_by.ip_address,require:user_id",
        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1",
        CONNECT_POSTGRES_DSN="postgresql://nobody@127.0.0.1:1/none",
    )
    result = connectors.run(env, "--check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: c1: "), result.stdout


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"CONNECT_TRANSFORMS": "nope"}, "unknown transform 'nope'"),
        ({"CONNECT_TRANSFORMS": "mask:email"}, "has no field 'email'"),
        ({"CONNECT_TRANSFORMS": "mask:channels"}, "not a string or bytes field"),
        ({"CONNECT_READER": "kafka:no.such.topic"}, "topic 'no.such.topic' has no contract"),
        ({"CONNECT_WRITER": "kafka:{email}"}, "carries email.v1.EmailMessage, but the reader reads preferences.v1"),
        ({"CONNECT_WRITER": "kafka:{audience}", "CONNECT_TRANSFORMS": "require:user_id"}, "but the transforms produce"),
        ({"CONNECT_WRITER": "ftp:x"}, "CONNECT_WRITER=ftp:x: the kind must be one of"),
        ({"CONNECT_BATCH_MAX": "many"}, "CONNECT_BATCH_MAX=many: not an integer"),
        ({"CONNECT_NAME": ""}, "CONNECT_NAME is not set"),
        ({"CONNECT_POSTGRES_KEY": "nope"}, "has no field 'nope'"),
        ({"CONNECT_READER": "outbox:box", "CONNECT_WRITER": "postgres:crm"}, "publishes to Kafka"),
    ],
)
def test_misconfiguration_is_one_line(
    bound: Bindings, connectors: Connectors, variables: dict[str, str], expected: str
) -> None:
    names = {"email": bound.name("email"), "audience": bound.name("audience")}
    base = {"CONNECT_NAME": "c2", "CONNECT_READER": f"kafka:{bound.name('prefs')}", "CONNECT_WRITER": "postgres:crm"}
    env = connectors.env(bound, **{**base, **{key: value.format(**names) for key, value in variables.items()}})
    for arguments in (("--check",), ()):
        assert expected in _one_line_error(connectors.run(env, *arguments))


def test_transform_package_registered_by_entry_point(bound: Bindings, connectors: Connectors, tmp_path: object) -> None:
    env = connectors.env(
        bound,
        CONNECT_NAME="c3",
        CONNECT_READER=f"kafka:{bound.name('prefs')}",
        CONNECT_WRITER=f"kafka:{bound.name('audience')}",
        CONNECT_TRANSFORMS="to_audience",
    )
    assert "unknown transform 'to_audience'" in _one_line_error(connectors.run(env, "--check"))
    env["PYTHONPATH"] = register_transforms(bound.directory / "site") + ":" + env["PYTHONPATH"]
    result = connectors.run(env, "--check")
    assert result.returncode == 0, result.stderr
    assert "(marketing.v1.AudienceMember)" in result.stdout
    # The transform's input type is checked against the reader's.
    env["CONNECT_READER"] = f"kafka:{bound.name('email')}"
    assert "transform to_audience takes preferences.v1.PreferenceChanged, but receives email.v1.EmailMessage" in (
        _one_line_error(connectors.run(env, "--check"))
    )


def test_print_ddl(bound: Bindings, connectors: Connectors) -> None:
    env = connectors.env(
        bound, CONNECT_NAME="c4", CONNECT_READER=f"kafka:{bound.name('prefs')}", CONNECT_WRITER="postgres:crm"
    )
    result = connectors.run(env, "--print-ddl")
    assert result.returncode == 0, result.stderr
    assert (
        "CREATE TABLE crm (\n  user_id text NOT NULL,\n  changed_by jsonb,\n  changed_at timestamptz," in result.stdout
    )
    assert "PRIMARY KEY (user_id)" in result.stdout
    assert "CREATE TABLE IF NOT EXISTS contracts_connect_offsets" in result.stdout


def test_startup_failures_consume_nothing(
    bound: Bindings, connectors: Connectors, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    prefs = bound.name("prefs")
    produce(bound.bootstrap, preferences_topic(prefs), range(5))
    wrong_types = f"wrong_types_{bound.prefix}"
    db.execute(f"CREATE TABLE {wrong_types} (user_id text PRIMARY KEY, locale integer)")
    base = {"CONNECT_NAME": "c5", "CONNECT_READER": f"kafka:{prefs}"}
    cases = {
        "postgres:missing_table": "the table does not exist",
        f"postgres:{wrong_types}": (
            "column locale is integer, but field preferences.v1.PreferenceChanged.locale needs text"
        ),
    }
    for writer, expected in cases.items():
        assert expected in _one_line_error(connectors.run(connectors.env(bound, CONNECT_WRITER=writer, **base)))
    unreachable = connectors.env(
        bound, CONNECT_WRITER=f"postgres:{wrong_types}", CONNECT_POSTGRES_DSN="postgresql://app@127.0.0.1:1/x", **base
    )
    assert "cannot connect to PostgreSQL with CONNECT_POSTGRES_DSN" in _one_line_error(connectors.run(unreachable))
    unreachable_kafka = connectors.env(bound, CONNECT_WRITER="stdout", KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1", **base)
    assert "Kafka" in _one_line_error(connectors.run(unreachable_kafka))
    # Nothing was consumed: the group never committed an offset.
    assert committed_offsets(bound.bootstrap, "c5", prefs) == {}
