"""Sends an EmailMessage to the audit topic through the runtime's Producer: mypy --strict
must reject the marked line ([misc]: M cannot be both). Only type-checked, never run (no broker)."""

from contracts_runtime import Producer
from registry_contracts.email.v1.email_pb2 import EmailMessage
from registry_contracts.topics import AUDIT_EVENTS_V1


def publish(producer: Producer, message: EmailMessage) -> None:
    producer.send(AUDIT_EVENTS_V1, message)  # WRONG: misc
