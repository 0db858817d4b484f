"""`contracts dlq replay`: republish the dead letters the current contract accepts, once each.

Dead letters are read in a consumer group of the replay's own (`contracts-dlq-replay.<topic>`).
Each one is judged as a consumer of the current contract would judge it (type, decoding, field
rules); those that pass are republished to the original topic through an idempotent producer with
`contracts_replayed_from` / `contracts_replay_time`, and the group's offsets are committed only
after Kafka acknowledged those republishes.

Dead letters that are still invalid (or not selected by `--reason` / `--rule`) stay where they are,
and a later replay must look at them again, while those republished after them must not be
republished twice. A committed offset alone cannot say both, so each partition's commit is the
first dead letter still waiting, and its metadata lists the dead letters past it that were
republished already (`contracts-dlq-replay/1 12-40,43`). Kafka keeps up to 4096 bytes of metadata
by default; when the list would not fit, the oldest waiting dead letters are given up (counted and
reported) until it does.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from contracts_runtime import envelope

from contracts_cli.dlq.contract import Contract
from contracts_cli.dlq.reading import DeadLetter, committed, end_offsets, partitions_of, read_dead_letters
from contracts_cli.errors import ContractsError
from contracts_cli.kafka import REQUEST_TIMEOUT_SECONDS, client_settings, describe_failure

GROUP_PREFIX = "contracts-dlq-replay."
METADATA_PREFIX = "contracts-dlq-replay/1 "
# Below the broker's default offset.metadata.max.bytes (4096).
MAX_METADATA = 3800
# Republished records are acknowledged and their offsets committed every this many records.
_CHUNK = 500

PRODUCER_SETTINGS: Mapping[str, str] = {
    "enable.idempotence": "true",
    "acks": "all",
    # The runtimes' partitioner (Java's murmur2): a replayed key lands where its producers put it.
    "partitioner": "murmur2_random",
    "allow.auto.create.topics": "false",
}


def replay_group(topic: str) -> str:
    return GROUP_PREFIX + topic


@dataclass
class ReplayReport:
    topic: str
    dlq_topic: str
    dry_run: bool
    read: int = 0  # dead letters looked at in this run
    republished: int = 0  # acknowledged by Kafka (dry run: would be republished)
    already: int = 0  # republished by an earlier run, skipped
    not_selected: int = 0  # left out by --reason / --rule
    invalid: int = 0  # still invalid under the current contract, left in place
    still_invalid: Counter[tuple[str, str]] = field(default_factory=Counter)  # per (reason, rule id or "")
    given_up: int = 0  # waiting dead letters a later replay will no longer look at (metadata full)


@dataclass
class _Partition:
    """One dead-letter partition during a run: where it started and what became of each dead letter."""

    start: int | None
    done: set[int]  # republished and acknowledged (by this run or an earlier one)
    waiting: set[int] = field(default_factory=set)  # read and left in place (invalid, not selected, failed)
    read_to: int | None = None  # one past the last offset read


def replay_dead_letters(
    contract: Contract,
    settings: Mapping[str, str],
    *,
    reason: str | None,
    rule: str | None,
    dry_run: bool,
    open_consumer: Callable[[str], Consumer],
) -> ReplayReport:
    topic = contract.binding.name
    dlq_topic = topic + ".dlq"
    report = ReplayReport(topic, dlq_topic, dry_run)
    consumer = open_consumer(replay_group(topic))
    producer: Producer | None = None
    try:
        partitions_of(consumer, topic)  # the original topic must exist before anything is republished
        partitions = partitions_of(consumer, dlq_topic)
        ends = end_offsets(consumer, dlq_topic, partitions)
        state = {
            p: _Partition(offset, parse_metadata(metadata) if offset is not None else set())
            for p, (offset, metadata) in committed(consumer, dlq_topic, partitions).items()
        }
        if not dry_run:
            producer = Producer({**client_settings(settings), **PRODUCER_SETTINGS})
        run = _Run(contract, report, state, consumer, producer, reason=reason, rule=rule)
        run.replay(read_dead_letters(consumer, dlq_topic, {p: s.start for p, s in state.items()}, ends))
    finally:
        if producer is not None:
            producer.flush(REQUEST_TIMEOUT_SECONDS)
        consumer.close()
    return report


class _Run:
    def __init__(
        self,
        contract: Contract,
        report: ReplayReport,
        state: dict[int, _Partition],
        consumer: Consumer,
        producer: Producer | None,
        *,
        reason: str | None,
        rule: str | None,
    ) -> None:
        self.contract = contract
        self.report = report
        self.state = state
        self.consumer = consumer
        self.producer = producer
        self.reason = reason
        self.rule = rule
        self._in_flight: dict[tuple[int, int], str | None] = {}  # (partition, offset) -> error, None = acked
        self._lock = threading.Lock()

    def replay(self, letters: Iterable[DeadLetter]) -> None:
        unsettled = 0
        for letter in letters:
            self.report.read += 1
            partition = self.state[letter.partition]
            partition.read_to = letter.offset + 1
            if letter.offset in partition.done:
                self.report.already += 1
            elif not letter.matches(self.reason, self.rule):
                self.report.not_selected += 1
                partition.waiting.add(letter.offset)
            elif self._judge(letter):
                unsettled += 1
                if unsettled >= _CHUNK:
                    self._settle()
                    unsettled = 0
        self._settle()

    def _judge(self, letter: DeadLetter) -> bool:
        """Republish `letter` when the contract accepts it now; True when a republish was queued."""
        verdict = self.contract.judge(letter.ce_type, letter.value)
        if verdict.reason is not None:
            self.report.invalid += 1
            rules = list(dict.fromkeys(v.rule_id for v in verdict.violations)) or [""]
            for rule_id in rules:
                self.report.still_invalid[(verdict.reason, rule_id)] += 1
            self.state[letter.partition].waiting.add(letter.offset)
            return False
        if self.producer is None:  # dry run
            self.report.republished += 1
            return False
        self._republish(letter)
        return True

    def _republish(self, letter: DeadLetter) -> None:
        assert self.producer is not None
        coordinates = (letter.partition, letter.offset)
        dlq_topic = self.report.dlq_topic
        headers: list[tuple[str, bytes | None]] = [
            (name, value)
            for name, value in letter.headers
            if name not in (envelope.REPLAYED_FROM, envelope.REPLAY_TIME)  # replaced on a later replay
        ]
        headers.append((envelope.REPLAYED_FROM, f"{dlq_topic}:{letter.partition}:{letter.offset}".encode()))
        headers.append((envelope.REPLAY_TIME, envelope.now_ce_time()))

        def delivered(error: KafkaError | None, _: Message) -> None:
            with self._lock:
                self._in_flight[coordinates] = None if error is None else f"{error.name()}: {error.str()}"

        with self._lock:
            self._in_flight[coordinates] = "not acknowledged"
        produce_headers: Any = headers
        while True:
            try:
                self.producer.produce(
                    self.report.topic, letter.value, letter.key, headers=produce_headers, on_delivery=delivered
                )
                break
            except BufferError:
                self.producer.poll(0.1)  # the local queue is full: let acknowledgements drain it
            except KafkaException as error:
                raise ContractsError(f"cannot republish to {self.report.topic}: {describe_failure(error)}") from None

    def _settle(self) -> None:
        """Wait for the republishes in flight, then commit what Kafka acknowledged."""
        if self.producer is None:
            return
        self.producer.flush(REQUEST_TIMEOUT_SECONDS)
        with self._lock:
            outcomes, self._in_flight = self._in_flight, {}
        failures = []
        for (partition, offset), error in outcomes.items():
            if error is None:
                self.state[partition].done.add(offset)
                self.report.republished += 1
            else:
                self.state[partition].waiting.add(offset)
                failures.append(error)
        self._commit()
        if failures:
            raise ContractsError(
                f"{len(failures)} dead letters were not republished to {self.report.topic} ({failures[0]}); "
                f"{self.report.republished} were, and are committed: run the replay again"
            )

    def _commit(self) -> None:
        offsets = []
        for number, partition in sorted(self.state.items()):
            if partition.read_to is None:
                continue  # nothing read here in this run: its commit stands
            offset, metadata, given_up = commit_point(partition.done, partition.waiting, partition.read_to)
            self.report.given_up += given_up
            offsets.append(TopicPartition(self.report.dlq_topic, number, offset, metadata))
        if not offsets:
            return
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as error:
            raise ContractsError(
                f"republished dead letters were acknowledged, but committing {self.report.dlq_topic}'s offsets "
                f"failed ({describe_failure(error)}): a second replay would republish them again"
            ) from None


def commit_point(done: set[int], waiting: set[int], read_to: int) -> tuple[int, str, int]:
    """The offset to commit, its metadata, and how many waiting dead letters had to be given up.

    The offset is the first dead letter still waiting (else `read_to`); the metadata lists the
    republished ones past it, as ranges."""
    remaining = sorted(offset for offset in waiting if offset < read_to)
    given_up = 0
    while True:
        offset = remaining[given_up] if given_up < len(remaining) else read_to
        metadata = format_metadata(sorted(o for o in done if offset < o < read_to))
        if len(metadata) <= MAX_METADATA or offset == read_to:
            return offset, metadata, given_up
        given_up += 1


def format_metadata(offsets: list[int]) -> str:
    """Sorted offsets as `contracts-dlq-replay/1 3-7,9` ("" when there are none)."""
    if not offsets:
        return ""
    ranges: list[str] = []
    first = previous = offsets[0]
    for offset in [*offsets[1:], None]:
        if offset is not None and offset == previous + 1:
            previous = offset
            continue
        ranges.append(str(first) if first == previous else f"{first}-{previous}")
        if offset is not None:
            first = previous = offset
    return METADATA_PREFIX + ",".join(ranges)


def parse_metadata(metadata: str) -> set[int]:
    """The offsets `format_metadata` wrote; an empty set for anything else (another tool's metadata)."""
    if not metadata.startswith(METADATA_PREFIX):
        return set()
    offsets: set[int] = set()
    try:
        for item in metadata.removeprefix(METADATA_PREFIX).split(","):
            low, _, high = item.partition("-")
            offsets.update(range(int(low), int(high or low) + 1))
    except ValueError:
        return set()
    return offsets


def render_report(report: ReplayReport) -> str:
    verb = "would be republished" if report.dry_run else "republished"
    parts = [f"{report.republished} {verb} to {report.topic}"]
    if report.invalid:
        parts.append(f"{report.invalid} still invalid (left in place)")
    if report.not_selected:
        parts.append(f"{report.not_selected} not selected (left in place)")
    if report.already:
        parts.append(f"{report.already} republished by an earlier replay")
    lines = [f"{report.dlq_topic}: {report.read} dead letters read; " + "; ".join(parts)]
    for (reason, rule_id), count in sorted(report.still_invalid.items(), key=lambda item: (-item[1], item[0])):
        lines.append(f"  still invalid: {reason}{' ' + rule_id if rule_id else ''}: {count}")
    if report.given_up:
        lines.append(
            f"  note: {report.given_up} waiting dead letters are older than what the group's commit metadata can "
            "remember: later replays will not look at them again (contracts dlq inspect still shows them)"
        )
    if report.dry_run:
        lines.append("  dry run: nothing was republished or committed")
    return "\n".join(lines)
