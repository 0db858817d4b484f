"""The transactional outbox: add() in the service's transaction, two relays, one killed."""

from __future__ import annotations

import signal
from collections import Counter

import psycopg
import pytest
from contracts_runtime.connect import outbox
from registry_contracts.preferences.v1.preferences_pb2 import PreferenceChanged

from tests.connect.conftest import Bindings, Connectors, read_all, wait_for
from tests.connect.helpers import PREFERENCES, preference, preferences_topic

pytestmark = pytest.mark.kafka


def test_two_relays_one_killed(
    bindings: Bindings, connectors: Connectors, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    total, batch = 5_000, 100
    bindings.bind({"PREFS": ("prefs", PREFERENCES, "user_id")})
    prefs = bindings.name("prefs")
    table = f"outbox_{bindings.prefix}"
    db.execute(outbox.ddl(table))
    topic = preferences_topic(prefs)
    ids = []
    with db.transaction():  # the service's own transaction: its data and the outbox rows commit together
        for number in range(total):
            ids.append(outbox.add(db, topic, preference(number % 1000), table=table))
    env = connectors.env(
        bindings,
        CONNECT_NAME="relay",
        CONNECT_READER=f"outbox:{table}",
        CONNECT_WRITER=f"kafka:{prefs}",
        CONNECT_BATCH_MAX=str(batch),
    )
    relays = [connectors.start(env, f"relay-{index}") for index in range(2)]
    logs = lambda: connectors.log("relay-0")[-3000:] + connectors.log("relay-1")[-3000:]  # noqa: E731

    def waiting() -> int:
        row = db.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(str(row[0])) if row else 0

    wait_for(lambda: waiting() <= total - 1500, 60, "the first rows published", logs)
    relays[0].send_signal(signal.SIGKILL)
    relays[0].wait()
    wait_for(lambda: waiting() == 0, 60, "an empty outbox", logs)
    records = read_all(bindings.bootstrap, prefs, expect=total, timeout=60)
    seen = Counter(headers["ce_id"].decode() for _, _, headers in records)
    assert set(seen) == set(ids)  # every row published
    duplicates = sum(count - 1 for count in seen.values())
    assert duplicates <= batch  # only the killed relay's batch in flight may appear twice
    assert max(seen.values()) <= 2
    # Per key, records arrive in the order they were added (1000 keys, 5 changes each).
    per_key: dict[bytes | None, list[str]] = {}
    for key, _, headers in records:
        ce_id = headers["ce_id"].decode()
        if ce_id not in per_key.setdefault(key, []):
            per_key[key].append(ce_id)
    order = {ce_id: index for index, ce_id in enumerate(ids)}
    assert all(chain == sorted(chain, key=order.__getitem__) for chain in per_key.values())
    assert PreferenceChanged.FromString(records[0][1] or b"").locale == "en-GB"
