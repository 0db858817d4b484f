"""Decodes an audit record into an EmailMessage variable: mypy --strict must reject the
marked line ([assignment]). Only type-checked."""

from contracts_runtime import EncodedRecord
from registry_contracts.email.v1.email_pb2 import EmailMessage
from registry_contracts.topics import AUDIT_EVENTS_V1


def read(record: EncodedRecord) -> EmailMessage:
    message: EmailMessage = AUDIT_EVENTS_V1.decode(record.value, record.headers)  # WRONG: assignment
    return message
