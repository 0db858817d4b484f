"""`contracts-connect`: a connector configured only by environment variables (README.md, section Connectors).

Exit codes: 0 stopped cleanly (SIGTERM / Ctrl-C), 1 a failure while running (the database or
Kafka failed past the retries; a restart resumes where the stored offsets say), 2 a
misconfiguration, reported as one line before anything is consumed.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from contracts_runtime import Producer, Topic
from contracts_runtime.connect import bindings, outbox, rows, transforms
from contracts_runtime.connect.errors import ConnectConfigError
from contracts_runtime.connect.kafka_writer import KafkaWriter
from contracts_runtime.connect.pipeline import ConnectorMetrics, Progress, Writer, log
from contracts_runtime.connect.postgres import PostgresWriter
from contracts_runtime.connect.reader import KafkaReader
from contracts_runtime.connect.settings import Settings, load
from contracts_runtime.connect.writers import HttpWriter, StdoutWriter
from contracts_runtime.errors import ConfigError, ConnectionError, ContractError
from contracts_runtime.health import HealthServer


@dataclass(frozen=True, slots=True)
class Plan:
    """What the environment asks for, checked without connecting anywhere."""

    settings: Settings
    reader_topics: tuple[Topic[Any], ...]
    chain: tuple[transforms.Transform, ...]
    output_type: type
    writer_topic: Topic[Any] | None
    postgres_key: tuple[str, ...]


def plan(settings: Settings) -> Plan:
    topics = bindings.load_topics(settings.contracts)
    writer_topic = None
    if settings.writer.kind == "kafka":
        writer_topic = bindings.bound_topic(topics, settings.writer.topics[0], "CONNECT_WRITER")
    if settings.reader.kind == "outbox":
        assert writer_topic is not None  # settings.load insists on a kafka writer
        if settings.transforms:
            raise ConnectConfigError(
                "CONNECT_TRANSFORMS: the outbox reader publishes rows as they are; drop the transforms"
            )
        reader_topics: tuple[Topic[Any], ...] = (writer_topic,)
    else:
        reader_topics = tuple(bindings.bound_topic(topics, name, "CONNECT_READER") for name in settings.reader.topics)
    input_types = {topic.message_type for topic in reader_topics}
    if len(input_types) > 1:
        raise ConnectConfigError(
            f"CONNECT_READER={settings.reader}: the topics carry different types "
            f"({', '.join(sorted(topic.type_name for topic in reader_topics))}); run one connector per type"
        )
    input_type = reader_topics[0].message_type
    chain = tuple(transforms.resolve(settings.transforms))
    output_type = transforms.check_chain(chain, input_type)
    if writer_topic is not None and output_type is not writer_topic.message_type:
        raise ConnectConfigError(
            f"CONNECT_WRITER={settings.writer} carries {writer_topic.type_name}, but "
            f"{'the transforms produce' if chain else 'the reader reads'} {_type_name(output_type)}"
        )
    return Plan(
        settings, reader_topics, chain, output_type, writer_topic, _postgres_key(settings, reader_topics, output_type)
    )


def _postgres_key(settings: Settings, reader_topics: Sequence[Topic[Any]], output_type: type) -> tuple[str, ...]:
    if settings.writer.kind != "postgres":
        return ()
    key = settings.postgres_key
    if not key:
        topic_key = reader_topics[0].key_field
        if topic_key is None or output_type is not reader_topics[0].message_type:
            raise ConnectConfigError(
                f"CONNECT_WRITER={settings.writer}: set CONNECT_POSTGRES_KEY (the upsert key columns): "
                "the rows are not the reader topic's messages or the topic has no key"
            )
        key = (topic_key,)
    fields = output_type.DESCRIPTOR.fields_by_name  # type: ignore[attr-defined]
    for name in key:
        if name not in fields:
            raise ConnectConfigError(f"CONNECT_POSTGRES_KEY: {_type_name(output_type)} has no field {name!r}")
    return key


def _type_name(kind: type) -> str:
    return str(getattr(getattr(kind, "DESCRIPTOR", None), "full_name", kind.__qualname__))


def print_ddl(connector_plan: Plan) -> str:
    settings = connector_plan.settings
    parts = []
    if settings.reader.kind == "outbox":
        parts.append(outbox.ddl(settings.reader.target))
    if settings.writer.kind == "postgres":
        parts.append(rows.ddl(settings.writer.target, connector_plan.output_type, connector_plan.postgres_key))
        parts.append(rows.offsets_ddl(settings.offsets_table))
    if not parts:
        return f"-- {settings.reader} -> {settings.writer} needs no table"
    return "\n\n".join(parts)


def build_writer(connector_plan: Plan, metrics: ConnectorMetrics) -> tuple[Writer, Producer | None]:
    """The writer, connected and checked against its table or topic."""
    settings = connector_plan.settings
    kind = settings.writer.kind
    if kind == "kafka":
        assert connector_plan.writer_topic is not None
        writer = KafkaWriter(
            connector=settings.name,
            topic=connector_plan.writer_topic,
            replica_id=settings.replica_id,
            metrics=metrics,
            source=f"contracts-connect/{settings.name}",
        )
        return writer, None
    if kind == "stdout":
        return StdoutWriter(), None
    dead_letters = Producer(config={"linger.ms": 0}, tracing=False)
    dead_letters.check_topics(topic.dlq_name for topic in connector_plan.reader_topics)
    if kind == "http":
        return HttpWriter(
            connector=settings.name,
            url=settings.writer.target,
            concurrency=settings.http_concurrency,
            dead_letters=dead_letters,
            metrics=metrics,
        ), dead_letters
    return PostgresWriter(
        connector=settings.name,
        dsn=settings.postgres_dsn,
        table=settings.writer.target,
        input_type=connector_plan.output_type,
        key=connector_plan.postgres_key,
        offsets_table=settings.offsets_table,
        dead_letters=dead_letters,
        metrics=metrics,
    ), dead_letters


class _Stop:
    def __init__(self) -> None:
        self.requested = False

    def __call__(self, *_: object) -> None:
        if not self.requested:
            log.info("stopping: finishing the batch in hand")
        self.requested = True

    def stopping(self) -> bool:
        return self.requested


def run(connector_plan: Plan) -> None:
    settings = connector_plan.settings
    stop = _Stop()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    metrics = ConnectorMetrics(settings.name)
    progress = Progress()
    health = None
    if settings.http_port is not None:
        health = HealthServer(
            liveness=progress.liveness, readiness=progress.readiness, registry=metrics.registry, port=settings.http_port
        )
        log.info("health and metrics on %s (/livez /readyz /metrics)", health.url)
    try:
        if settings.reader.kind == "outbox":
            assert connector_plan.writer_topic is not None
            relay = outbox.OutboxRelay(
                connector=settings.name,
                dsn=settings.postgres_dsn,
                table=settings.reader.target,
                topic=connector_plan.writer_topic,
                batch_max=settings.batch_max,
                batch_wait=settings.batch_wait,
                metrics=metrics,
                progress=progress,
            )
            log.info("%s: %s -> %s", settings.name, settings.reader, settings.writer)
            relay.run(stop.stopping)
            return
        _run_kafka(connector_plan, metrics, progress, stop)
    finally:
        if health is not None:
            health.close()


def _run_kafka(connector_plan: Plan, metrics: ConnectorMetrics, progress: Progress, stop: _Stop) -> None:
    settings = connector_plan.settings
    writer, dead_letters = build_writer(connector_plan, metrics)
    try:
        reader = KafkaReader(
            connector=settings.name,
            topics=connector_plan.reader_topics,
            chain=connector_plan.chain,
            writer=writer,
            metrics=metrics,
            progress=progress,
            batch_max=settings.batch_max,
            batch_wait=settings.batch_wait,
            replica_id=settings.replica_id,
            mirror_offsets=settings.writer.kind == "postgres",
        )
        log.info(
            "%s: %s -> %s -> %s", settings.name, settings.reader, ",".join(settings.transforms) or "-", settings.writer
        )
        reader.run(stop.stopping)
    finally:
        writer.close()
        if dead_letters is not None:
            dead_letters.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="contracts-connect",
        description="Run a connector configured by CONNECT_* and KAFKA_* variables (README.md, section Connectors).",
    )
    parser.add_argument("--check", action="store_true", help="validate the configuration without connecting, then exit")
    parser.add_argument("--print-ddl", action="store_true", help="print the tables the connector expects, then exit")
    arguments = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="contracts-connect %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        connector_plan = plan(load())
        if arguments.print_ddl:
            print(print_ddl(connector_plan))
            return 0
        if arguments.check:
            settings = connector_plan.settings
            print(
                f"ok: {settings.name}: {settings.reader} -> {', '.join(settings.transforms) or 'no transforms'} -> "
                f"{settings.writer} ({_type_name(connector_plan.output_type)})"
            )
            return 0
        run(connector_plan)
    except ContractError as error:
        if isinstance(error, (ConfigError, ConnectionError)):  # ConnectConfigError is a ConfigError
            print(f"contracts-connect: error: {error}", file=sys.stderr)
            return 2
        log.error("stopped: %s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
