"""Kafka -> Kafka through a transform, exactly once: 3 replicas, one killed with SIGKILL; a transform that raises."""

from __future__ import annotations

import re
import signal
import time
from collections import Counter

import pytest
from registry_contracts.marketing.v1.audience_member_pb2 import AudienceMember
from registry_contracts.preferences.v1.preferences_pb2 import PreferenceChanged

from tests.connect.conftest import Bindings, Connectors, committed_offsets, end_offsets, read_all, wait_for
from tests.connect.helpers import (
    AUDIENCE,
    PREFERENCES,
    preferences_topic,
    produce,
    register_failing_transforms,
    register_transforms,
)

pytestmark = pytest.mark.kafka


def test_three_replicas_one_killed_exactly_once(bindings: Bindings, connectors: Connectors) -> None:
    total = 20_000
    bindings.bind({"PREFS": ("prefs", PREFERENCES, "user_id"), "AUDIENCE": ("audience", AUDIENCE, "user_id")})
    prefs, audience = bindings.name("prefs"), bindings.name("audience")
    produce(bindings.bootstrap, preferences_topic(prefs), range(total))
    site = register_transforms(bindings.directory / "site")

    def env(index: int) -> dict[str, str]:
        variables = connectors.env(
            bindings,
            CONNECT_NAME="marketing",
            CONNECT_READER=f"kafka:{prefs}",
            CONNECT_WRITER=f"kafka:{audience}",
            CONNECT_TRANSFORMS="to_audience",
            CONNECT_REPLICA_ID=f"r{index}",
            CONNECT_BATCH_MAX="200",
        )
        variables["PYTHONPATH"] = f"{site}:{variables['PYTHONPATH']}"
        return variables

    replicas = [connectors.start(env(index), f"replica-{index}") for index in range(3)]
    logs = lambda: "\n".join(connectors.log(f"replica-{index}")[-3000:] for index in range(3))  # noqa: E731

    def committed() -> int:
        return sum(committed_offsets(bindings.bootstrap, "marketing", prefs).values())

    wait_for(lambda: committed() >= 3000, 60, "the first transactions", logs)
    replicas[0].send_signal(signal.SIGKILL)
    replicas[0].wait()
    time.sleep(1)
    # Restarted with its replica id: its transactional.id aborts what the killed process left open.
    connectors.start(env(0), "replica-0")
    ends = end_offsets(bindings.bootstrap, prefs, 3)
    wait_for(lambda: committed_offsets(bindings.bootstrap, "marketing", prefs) == ends, 90, f"offsets {ends}", logs)
    records = read_all(bindings.bootstrap, audience, expect=total, timeout=60)
    users = Counter(AudienceMember.FromString(value or b"").user_id for _, value, _ in records)
    assert len(records) == total, f"{len(records)} committed records, {sum(1 for n in users.values() if n > 1)} twice"
    assert len(users) == total
    assert all(headers["ce_type"] == b"marketing.v1.AudienceMember" for _, _, headers in records[:100])
    # The uncommitted view shows the aborted transactions' records too: the kill did interrupt one
    # (or the replicas were between transactions, which is fine but proves less).
    uncommitted = read_all(bindings.bootstrap, audience, expect=total, timeout=30, committed_only=False)
    assert len(uncommitted) >= total


def test_transform_that_raises_is_dead_lettered_in_the_transaction_traced(
    bindings: Bindings, connectors: Connectors
) -> None:
    bindings.bind({"PREFS": ("prefs", PREFERENCES, "user_id"), "AUDIENCE": ("audience", AUDIENCE, "user_id")})
    prefs, audience = bindings.name("prefs"), bindings.name("audience")
    produce(bindings.bootstrap, preferences_topic(prefs), range(20))  # user-000003 and user-000013 raise
    env = connectors.env(
        bindings,
        CONNECT_NAME="raising",
        CONNECT_READER=f"kafka:{prefs}",
        CONNECT_WRITER=f"kafka:{audience}",
        CONNECT_TRANSFORMS="audience_or_raise",
        # A tracer provider (spans go nowhere): the writer's traced send path runs.
        OTEL_PYTHON_TRACER_PROVIDER="sdk_tracer_provider",
    )
    env["PYTHONPATH"] = f"{register_failing_transforms(bindings.directory / 'site')}:{env['PYTHONPATH']}"
    process = connectors.start(env, "raising")
    ends = end_offsets(bindings.bootstrap, prefs, 3)
    wait_for(
        lambda: committed_offsets(bindings.bootstrap, "raising", prefs) == ends,
        60,
        f"offsets {ends}",
        lambda: connectors.log("raising"),
    )
    assert process.poll() is None, "a transform that raises must not stop the connector"
    written = read_all(bindings.bootstrap, audience, expect=18, timeout=20)
    assert sorted(AudienceMember.FromString(value or b"").user_id for _, value, _ in written) == [
        f"user-{number:06d}" for number in range(20) if number % 10 != 3
    ]
    # Each output record carries its `send` span's context, a child of the batch's `process` span.
    traceparent = re.compile(rb"00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-9a-f]")
    assert all(traceparent.fullmatch(headers["traceparent"]) for _, _, headers in written)
    # The dead letters were written in the connector's transaction: a read_committed reader sees them.
    dead = read_all(bindings.bootstrap, prefs + ".dlq", expect=2, timeout=20)
    assert sorted(key or b"" for key, _, _ in dead) == [b"user-000003", b"user-000013"]
    for _, value, headers in dead:
        assert headers["contracts_dlq_reason"] == b"handler"
        assert headers["contracts_dlq_error"].startswith(b"ValueError: cannot take user-0000")
        assert headers["contracts_dlq_connector"] == b"raising"
        assert headers["ce_type"] == b"preferences.v1.PreferenceChanged"  # the original record, unchanged
        assert PreferenceChanged.FromString(value or b"").user_id.endswith("3")
