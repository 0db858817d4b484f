"""Encodes an EmailMessage on the audit topic: mypy --strict must reject the marked line
([arg-type]), and running it must raise TypeError before anything is encoded."""

from registry_contracts.email.v1.email_pb2 import EmailMessage
from registry_contracts.topics import AUDIT_EVENTS_V1

record = AUDIT_EVENTS_V1.encode(EmailMessage(message_id="m-1"))  # WRONG: arg-type
print("encoded", record.topic)
