"""`contracts dlq inspect|replay` on the real broker, against a small registry whose contract has rules.

The scenario follows a team's day: a producer that does not validate sends ten records that break
the contract's rules (five too-short account ids, five bad email addresses) and one that does not
decode; the runtime's consumer dead-letters all eleven. `inspect` shows them grouped; the team then
loosens the account-id rule (a contract fix that makes half of the validation dead letters valid)
and replays twice: the five now valid are republished once, the others stay where they are.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from confluent_kafka import Consumer as KafkaConsumer
from confluent_kafka import Message, TopicPartition
from confluent_kafka import Producer as KafkaProducer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from contracts_cli.dlq.replay import commit_point, format_metadata, parse_metadata
from contracts_runtime import Consumer, Producer, Topic
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from tests.registry_fixtures import (
    OPTIONS,
    REPOSITORY,
    buf_command,
    contracts_env,
    run_contracts,
    session_cache,
)

SIGNUP = "proto/signups/v1/signup.proto"
STRICT_ID = "(buf.validate.field).string.min_len = 3"
LOOSE_ID = "(buf.validate.field).string.min_len = 1"
BUF_YAML = """version: v2
modules:
  - path: proto
  - path: third_party
    lint:
      ignore:
        - third_party/buf
    breaking:
      ignore:
        - third_party/buf
lint:
  use:
    - STANDARD
breaking:
  use:
    - FILE
"""


def signup_proto(topic: str) -> str:
    return f"""syntax = "proto3";

package signups.v1;

import "buf/validate/validate.proto";
import "contracts/v1/options.proto";

// Signup is one new account.
message Signup {{
  option (contracts.v1.topic) = {{name: "{topic}" key: "account_id"}};

  // The new account.
  string account_id = 1 [{STRICT_ID}];
  // Where to write to.
  string email = 2 [(buf.validate.field).string.email = true];
}}
"""


# ------------------------------------------------------------------------ commit metadata, no broker


def test_commit_metadata_round_trips_as_ranges() -> None:
    offsets = [3, 4, 5, 7, 9, 10]
    assert format_metadata(offsets) == "contracts-dlq-replay/1 3-5,7,9-10"
    assert parse_metadata(format_metadata(offsets)) == set(offsets)
    assert format_metadata([]) == ""
    assert parse_metadata("someone else's metadata") == set()


def test_the_commit_stops_at_the_first_dead_letter_still_waiting() -> None:
    # 0-1 republished, 2 still invalid, 3-4 republished, read up to 5.
    assert commit_point({0, 1, 3, 4}, {2}, 5) == (2, "contracts-dlq-replay/1 3-4", 0)
    assert commit_point({0, 1}, set(), 5) == (5, "", 0)


def test_waiting_dead_letters_are_given_up_when_the_metadata_would_not_fit() -> None:
    # Every other dead letter republished: the list of singles outgrows Kafka's metadata limit.
    done = set(range(1, 4000, 2))
    waiting = set(range(0, 4000, 2))
    offset, metadata, given_up = commit_point(done, waiting, 4000)
    assert len(metadata) <= 3800
    assert given_up > 0
    assert offset == sorted(waiting)[given_up]
    assert all(item > offset for item in parse_metadata(metadata))


# ------------------------------------------------------------------------ the broker scenario


@dataclass
class Scenario:
    root: Path
    topic: str
    env: dict[str, str]
    bootstrap: str

    @property
    def dlq(self) -> str:
        return self.topic + ".dlq"

    def contracts(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_contracts(list(args), self.root, self.env)


def build_signup_class(root: Path, env: dict[str, str]) -> type[Any]:
    """The Signup class of the registry as it is now, in a descriptor pool of its own."""
    image = root / "image.binpb"
    subprocess.run([buf_command(), "build", "-o", str(image)], cwd=root, env=env, check=True, capture_output=True)
    files = descriptor_pb2.FileDescriptorSet.FromString(image.read_bytes()).file
    image.unlink()
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()
    while len(added) < len(files):  # imports first
        for file_proto in files:
            if file_proto.name not in added and all(dep in added for dep in file_proto.dependency):
                pool.Add(file_proto)
                added.add(file_proto.name)
    return cast(type[Any], message_factory.GetMessageClass(pool.FindMessageTypeByName("signups.v1.Signup")))


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Iterator[Scenario]:
    root = tmp_path_factory.mktemp("dlq-registry")
    topic = f"signups.created-{uuid.uuid4().hex[:8]}.v1"
    (root / "buf.yaml").write_text(BUF_YAML)
    (root / OPTIONS).parent.mkdir(parents=True)
    shutil.copyfile(REPOSITORY / OPTIONS, root / OPTIONS)
    shutil.copytree(REPOSITORY / "third_party", root / "third_party")
    (root / SIGNUP).parent.mkdir(parents=True)
    (root / SIGNUP).write_text(signup_proto(topic))
    env = {**contracts_env(session_cache(tmp_path_factory)), "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    for future in admin.create_topics(
        [NewTopic(name, num_partitions=2, replication_factor=1) for name in (topic, topic + ".dlq")]
    ).values():
        future.result(timeout=15)
    dead_letter_everything(kafka_bootstrap, topic, build_signup_class(root, env))
    yield Scenario(root, topic, env, kafka_bootstrap)


def dead_letter_everything(bootstrap: str, topic: str, signup: type[Any]) -> None:
    """Ten records that break the rules and one that does not decode, all dead-lettered by the runtime."""
    unchecked: Topic[Any] = Topic(topic, signup, key_field="account_id", validation="dlq")
    with Producer(bootstrap_servers=bootstrap) as producer:
        for number in range(5):
            producer.send(unchecked, signup(account_id=f"a{number}", email=f"a{number}@example.com"))
            producer.send(unchecked, signup(account_id=f"acct-{number}", email=f"not-an-address-{number}"))
    raw = KafkaProducer({"bootstrap.servers": bootstrap})
    raw.produce(topic, b"\xff\xff\xff", b"garbage", headers=[("ce_type", b"signups.v1.Signup")])
    raw.flush(15)
    handled: list[object] = []
    checked: Topic[Any] = Topic(topic, signup, key_field="account_id")
    with Consumer(group_id=f"svc-{uuid.uuid4().hex[:8]}", bootstrap_servers=bootstrap) as consumer:
        consumer.subscribe(checked, handled.append)
        assert consumer.run(stop_after=11, timeout=60) == 11
    assert handled == []


def read_all(bootstrap: str, topic: str, settle: float = 2.0) -> list[Message]:
    """Every record of `topic` (both partitions), waiting `settle` seconds after the last one."""
    reader = KafkaConsumer(
        {"bootstrap.servers": bootstrap, "group.id": f"check-{uuid.uuid4().hex}", "enable.auto.commit": False}
    )
    try:
        reader.assign([TopicPartition(topic, p, 0) for p in (0, 1)])
        records: list[Message] = []
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < settle:
            message = reader.poll(0.2)
            if message is not None and message.error() is None:
                records.append(message)
                quiet_since = time.monotonic()
        return records
    finally:
        reader.close()


def headers(message: Message) -> dict[str, bytes]:
    return {name: value for name, value in cast(list[tuple[str, bytes]], message.headers() or [])}


def replayed(bootstrap: str, topic: str) -> list[Message]:
    return [m for m in read_all(bootstrap, topic) if "contracts_replayed_from" in headers(m)]


@pytest.mark.kafka
def test_inspect_groups_dead_letters_by_reason_and_rule_with_decoded_examples(scenario: Scenario) -> None:
    result = scenario.contracts("dlq", "inspect", scenario.topic, "--format", "json", "--limit", "2")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["dlq_topic"], report["dead_letters"], report["matched"]) == (scenario.dlq, 11, 11)
    groups = {(group["reason"], group["rule_id"]): group for group in report["groups"]}
    assert {key: group["count"] for key, group in groups.items()} == {
        ("validation", "string.min_len"): 5,
        ("validation", "string.email"): 5,
        ("decode", None): 1,
    }
    assert groups[("validation", "string.email")]["fields"] == ["email"]
    [first, _] = groups[("validation", "string.min_len")]["examples"]
    assert first["message"]["account_id"] in {f"a{n}" for n in range(5)}
    assert first["violations"] == [{"rule_id": "string.min_len", "field": "account_id"}]
    assert first["attempts"] == 0
    assert first["original"].startswith(f"{scenario.topic}[")
    [garbage] = groups[("decode", None)]["examples"]
    assert "message" not in garbage
    assert garbage["value_base64"] == "////"
    assert garbage["key"] == "garbage"


@pytest.mark.kafka
def test_inspect_text_and_the_rule_filter(scenario: Scenario) -> None:
    result = scenario.contracts("dlq", "inspect", scenario.topic, "--rule", "string.email")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{scenario.dlq}: 11 dead letters, 5 selected\n")
    assert "validation string.email: 5 (fields: email)" in result.stdout
    assert "string.min_len" not in result.stdout
    assert re.search(r'message: \{"account_id": "acct-\d", "email": "not-an-address-\d"\}', result.stdout)


@pytest.mark.kafka
def test_replay_after_a_contract_fix_republishes_the_now_valid_half_once(scenario: Scenario) -> None:
    before = len(read_all(scenario.bootstrap, scenario.topic))
    # Nothing is valid under the contract as it is: nothing moves.
    unchanged = scenario.contracts("dlq", "replay", scenario.topic)
    assert unchanged.returncode == 0, unchanged.stderr
    assert f"{scenario.dlq}: 11 dead letters read; 0 republished to {scenario.topic}; 11 still invalid" in (
        unchanged.stdout
    )

    signup = scenario.root / SIGNUP
    signup.write_text(signup.read_text().replace(STRICT_ID, LOOSE_ID))

    dry = scenario.contracts("dlq", "replay", scenario.topic, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "5 would be republished" in dry.stdout
    assert "dry run: nothing was republished or committed" in dry.stdout

    not_selected = scenario.contracts("dlq", "replay", scenario.topic, "--reason", "handler")
    assert "0 republished" in not_selected.stdout
    assert "11 not selected (left in place)" in not_selected.stdout
    assert replayed(scenario.bootstrap, scenario.topic) == []

    first = scenario.contracts("dlq", "replay", scenario.topic)
    assert first.returncode == 0, first.stderr
    assert f"5 republished to {scenario.topic}; 6 still invalid (left in place)" in first.stdout
    assert "still invalid: validation string.email: 5" in first.stdout
    assert "still invalid: decode: 1" in first.stdout

    second = scenario.contracts("dlq", "replay", scenario.topic)
    assert second.returncode == 0, second.stderr
    assert f"0 republished to {scenario.topic}; 6 still invalid (left in place)" in second.stdout
    # It reads from the first dead letter still waiting; those republished past it are skipped.
    assert re.search(r"; [1-5] republished by an earlier replay\n", second.stdout) or "earlier" not in second.stdout

    records = read_all(scenario.bootstrap, scenario.topic)
    assert len(records) == before + 5, "each now-valid dead letter is republished exactly once"
    again = [r for r in records if "contracts_replayed_from" in headers(r)]
    sources = {headers(r)["contracts_replayed_from"].decode() for r in again}
    assert len(sources) == 5
    assert all(re.fullmatch(rf"{re.escape(scenario.dlq)}:[01]:\d+", source) for source in sources)
    signup_class = build_signup_class(scenario.root, scenario.env)
    for record in again:
        record_headers = headers(record)
        assert re.fullmatch(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record_headers["contracts_replay_time"])
        # The dead-letter history travels with it, so a second failure keeps its first failure time.
        assert record_headers["contracts_dlq_reason"] == b"validation"
        assert record_headers["ce_type"] == b"signups.v1.Signup"
        message = signup_class.FromString(record.value())
        assert re.fullmatch(r"a\d", message.account_id)
        assert record.key() == message.account_id.encode()


@pytest.mark.kafka
def test_errors_are_one_line_with_exit_2(scenario: Scenario) -> None:
    cases = [
        (["dlq", "inspect", "no.such.topic.v1"], "no contract binds topic 'no.such.topic.v1'"),
        (["dlq", "replay", scenario.topic, "--reason", "typo"], "--reason takes decode, wrong-type"),
        (["dlq", "inspect", scenario.topic, "--format", "yaml"], "--format takes text or json"),
        (["dlq", "inspect", scenario.topic, "--bootstrap-servers", "127.0.0.1:1"], "cannot reach Kafka at 127.0.0.1:1"),
    ]
    for args, expected in cases:
        result = scenario.contracts(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert expected in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr
