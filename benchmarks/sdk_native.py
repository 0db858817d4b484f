"""The Go and Rust parts of benchmarks/sdk.py: each typed producer against the raw client of its
language, and each batch consumer against the per-record one, side by side in one run.

For each language, against a real broker:

a. typed producer / raw client writing the same bytes: the same value (deterministic protobuf),
   key and six CloudEvents headers, the same settings (idempotence, acks=all, lz4, linger 5 ms),
   a delivery check per record                                                  target >= 0.9
   - async: Go `contracts.SendAsync` + `Flush` / franz-go `kgo.Client.Produce` + `Flush`;
     Rust `Producer::send_async` + waiting for every delivery / rdkafka `BaseProducer`
   - sync, from many goroutines or threads: Go `contracts.Send` / `ProduceSync`;
     Rust `Producer::send` / rdkafka `FutureProducer` (one future awaited at a time)
b. batch consumer / per-record consumer, with a handler that waits 0.5 ms per call for a
   simulated downstream round trip (as in benchmarks/sdk.py); also both without that cost

Each contender run is one process of benchmarks/native/{go,rust} (built here, release mode),
which times itself from the moment it is connected (producers) or handled its first call
(consumers) and prints {"records", "wall", "cpu"}. Contenders alternate, their order rotating
every round, and every figure is the median of --rounds rounds, so that load on the shared
machine hits each side alike. CPU per record (user + system of the whole process, librdkafka's
threads included) is shown too: load skews it much less than wall time.

    .venv/bin/python benchmarks/sdk_native.py [--records 200000] [--rounds 5] [--languages go,rust]

benchmarks/sdk.py calls `native_part` at its end, on its broker.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

ROOT = Path(__file__).resolve().parent.parent
NATIVE = ROOT / "benchmarks" / "native"
CARGO_TARGET_DIR = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / ".cache" / "cargo-target"))
PARTITIONS = 6
BATCH_SIZE = 500
HANDLER_COST_US = 500  # the simulated downstream round trip per handler call, as in sdk.py
SEND_CONCURRENCY = {"go": 64, "rust": 64}  # goroutines / threads calling the synchronous send
LANGUAGES = ("go", "rust")


# --- building and running one contender ----------------------------------------------


def build(language: str) -> Path:
    """Build the benchmark program of one language; return its path."""
    if language == "go":
        binary = Path(tempfile.gettempdir()) / f"contracts-bench-go-{os.getuid()}"
        command = ["go", "build", "-o", str(binary), "."]
    else:
        binary = CARGO_TARGET_DIR / "release" / "contracts-bench"
        command = ["cargo", "build", "--release", "--quiet"]
    environment = {**os.environ, "CARGO_TARGET_DIR": str(CARGO_TARGET_DIR)}
    built = subprocess.run(command, cwd=NATIVE / language, env=environment, capture_output=True, text=True)
    if built.returncode != 0:
        raise SystemExit(f"building benchmarks/native/{language} failed:\n{built.stderr[-4000:]}")
    return binary


@dataclass
class Run:
    records: int
    wall: float  # seconds
    cpu: float  # process CPU seconds, every thread

    @property
    def rate(self) -> float:
        return self.records / self.wall

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.records * 1e6


def run_once(binary: Path, arguments: Sequence[str]) -> Run:
    done = subprocess.run([str(binary), *arguments], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"{binary.name} {' '.join(arguments)} failed:\n{done.stderr[-4000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return Run(int(figures["records"]), float(figures["wall"]), float(figures["cpu"]))


@dataclass
class Contender:
    name: str
    binary: Path
    arguments: list[str]
    group: str | None = None  # consumers: the prefix of a fresh group per run, so that each reads from the start
    runs: list[Run] = field(default_factory=list)

    def run(self) -> None:
        group = [] if self.group is None else ["--group", f"{self.group}-{uuid.uuid4().hex[:12]}"]
        self.runs.append(run_once(self.binary, [*self.arguments, *group]))

    @property
    def rate(self) -> float:
        return statistics.median(run.rate for run in self.runs)

    @property
    def cpu_us(self) -> float:
        return statistics.median(run.cpu_us for run in self.runs)

    def line(self) -> str:
        rates = ", ".join(f"{run.rate / 1000:.1f}k" for run in self.runs)
        return f"    {self.name:<50} {self.rate:>10,.0f} rec/s  {self.cpu_us:6.1f} us CPU/rec   [{rates}]"


def alternate(contenders: list[Contender], rounds: int) -> None:
    """Run every contender once per round, rotating who goes first."""
    for round_number in range(rounds):
        shift = round_number % len(contenders)
        for contender in contenders[shift:] + contenders[:shift]:
            contender.run()


# --- topics --------------------------------------------------------------------------


def create_topics(bootstrap: str, names: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=PARTITIONS, replication_factor=1) for name in names])
    for future in futures.values():
        future.result(timeout=60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        metadata = admin.list_topics(timeout=10)
        if all(name in metadata.topics and metadata.topics[name].error is None for name in names):
            return
        time.sleep(0.1)
    raise SystemExit(f"topics {names} did not appear")


def delete_topics(bootstrap: str, names: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.delete_topics(names).values():
        try:
            future.result(timeout=60)
        except Exception as error:
            print(f"  (could not delete a benchmark topic: {error})")


# --- one language --------------------------------------------------------------------


@dataclass
class Results:
    language: str
    produce: list[Contender]  # typed async, raw async, typed sync, raw sync
    costly: list[Contender]  # per-record, batch: with the handler's round trip
    free: list[Contender]  # per-record, batch: no-op handler
    handler_ms: float  # what the simulated round trip really took


def language_part(
    language: str, binary: Path, bootstrap: str, topics: tuple[str, str], counts: tuple[int, int], rounds: int
) -> Results:
    produce_topic, consume_topic = topics
    records, slow_records = counts

    def arguments(mode: str, topic: str, count: int, *extra: str) -> list[str]:
        return ["--mode", mode, "--bootstrap", bootstrap, "--topic", topic, "--records", str(count), *extra]

    def producer(name: str, mode: str, count: int, *extra: str) -> Contender:
        return Contender(name, binary, arguments(mode, produce_topic, count, *extra))

    def consumer(name: str, mode: str, count: int, cost_us: int) -> Contender:
        extra = ["--batch-size", str(BATCH_SIZE), "--handler-cost-us", str(cost_us)]
        return Contender(name, binary, arguments(mode, consume_topic, count, *extra), group=f"bench-{language}")

    threads = str(SEND_CONCURRENCY[language])
    spelled = {
        "go": ("SendAsync + Flush", "kgo Produce + Flush", "Send", "kgo ProduceSync"),
        "rust": ("send_async + wait", "BaseProducer + flush", "send", "FutureProducer"),
    }[language]
    unit = "goroutines" if language == "go" else "threads"
    produce = [
        producer(f"typed {spelled[0]}", "produce-typed", records),
        producer(f"raw {spelled[1]}", "produce-raw", records),
        producer(f"typed {spelled[2]}, {threads} {unit}", "send-typed", records // 4, "--concurrency", threads),
        producer(f"raw {spelled[3]}, {threads} {unit}", "send-raw", records // 4, "--concurrency", threads),
    ]
    # A fresh broker answers the first idempotent producers slowly: warm up outside the timing.
    for mode in ("produce-typed", "produce-raw"):
        run_once(binary, arguments(mode, produce_topic, 2_000))
    alternate(produce, rounds)

    handler_ms = run_once(binary, ["--mode", "calibrate-sleep", "--handler-cost-us", str(HANDLER_COST_US)]).wall / 200
    cost = f"handler {HANDLER_COST_US / 1000:g} ms/call"
    costly = [
        consumer(f"per-record consumer, {cost}", "consume-record", slow_records, HANDLER_COST_US),
        consumer(f"batch consumer ({BATCH_SIZE}), {cost}", "consume-batch", records, HANDLER_COST_US),
    ]
    free = [
        consumer("per-record consumer, no-op handler", "consume-record", records, 0),
        consumer(f"batch consumer ({BATCH_SIZE}), no-op handler", "consume-batch", records, 0),
    ]
    alternate(costly + free, rounds)
    return Results(language, produce, costly, free, handler_ms * 1e3)


# --- report --------------------------------------------------------------------------


def verdict(value: float, target: float) -> str:
    return f"(target >= {target:g}: {'met' if value >= target else 'NOT met'})"


def report(results: Results) -> None:
    typed, raw, typed_sync, raw_sync = results.produce
    print(f"\n  {results.language}")
    for contender in results.produce:
        print(contender.line())
    print(f"    (handler's downstream round trip measured at {results.handler_ms:.2f} ms a call)")
    for contender in results.costly + results.free:
        print(contender.line())
    print(f"    ratios ({results.language})")
    ratio = typed.rate / raw.rate
    print(f"      a. typed / raw produce, async            {ratio:6.2f}  {verdict(ratio, 0.9)}")
    print(f"         by CPU per record (raw / typed): {raw.cpu_us / typed.cpu_us:.2f}")
    ratio = typed_sync.rate / raw_sync.rate
    print(f"      a. typed / raw produce, sync             {ratio:6.2f}  {verdict(ratio, 0.9)}")
    print(f"         by CPU per record (raw / typed): {raw_sync.cpu_us / typed_sync.cpu_us:.2f}")
    ratio = results.costly[1].rate / results.costly[0].rate
    print(f"      b. batch / per-record consume (costly)   {ratio:6.2f}  {verdict(ratio, 3)}")
    ratio = results.free[1].rate / results.free[0].rate
    print(f"         without handler cost: {ratio:.2f}")


def native_part(
    bootstrap: str,
    *,
    records: int = 200_000,
    slow_records: int = 2_000,
    rounds: int = 5,
    languages: Sequence[str] = LANGUAGES,
) -> None:
    """Benchmark the Go and Rust runtimes on `bootstrap` and print their figures and ratios."""
    run_id = uuid.uuid4().hex[:8]
    produce_topic, consume_topic = f"bench.{run_id}.native.produce", f"bench.{run_id}.native.consume"
    names = [produce_topic, consume_topic, consume_topic + ".dlq"]
    print(f"\nGo and Rust (benchmarks/sdk_native.py): {rounds} rounds, contenders alternating, medians")
    print(
        f"  produce: {records:,} records async, {records // 4:,} sync; topic {produce_topic} ({PARTITIONS} partitions)"
    )
    print(
        f"  consume: per-record with the handler's cost {slow_records:,} records, the others {records:,};"
        f" topic {consume_topic}"
    )
    binaries = {language: build(language) for language in languages}
    create_topics(bootstrap, names)
    try:
        # Written once, by the Go typed producer: every runtime reads every runtime's records.
        run_once(
            binaries.get("go") or binaries[languages[0]],
            ["--mode", "fill", "--bootstrap", bootstrap, "--topic", consume_topic, "--records", str(records + 1)],
        )
        for language in languages:
            counts = (records, slow_records)
            report(
                language_part(language, binaries[language], bootstrap, (produce_topic, consume_topic), counts, rounds)
            )
    finally:
        delete_topics(bootstrap, names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--slow-records", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    options = parser.parse_args()
    languages = [language for language in options.languages.split(",") if language]
    unknown = set(languages) - set(LANGUAGES)
    if unknown:
        raise SystemExit(f"unknown languages {sorted(unknown)}: use {', '.join(LANGUAGES)}")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from sdk import broker  # the broker of sdk.py: KAFKA_BOOTSTRAP_SERVERS or a fresh local one

    started = time.monotonic()
    with broker() as (bootstrap, fresh):
        print(f"broker: {bootstrap} ({'started by this script' if fresh else 'KAFKA_BOOTSTRAP_SERVERS'})")
        native_part(
            bootstrap,
            records=options.records,
            slow_records=options.slow_records,
            rounds=options.rounds,
            languages=languages,
        )
    print(f"\n(whole run: {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
