"""Uses a topic binding the way a service would; `mypy --strict` must pass."""

from typing import assert_type

from contracts_runtime import EncodedRecord, Topic
from registry_contracts.audit.v1.audit_pb2 import AuditEvent
from registry_contracts.topics import AUDIT_EVENTS_V1

assert_type(AUDIT_EVENTS_V1, Topic[AuditEvent])


def publish(event: AuditEvent) -> EncodedRecord:
    return AUDIT_EVENTS_V1.encode(event)


def main() -> None:
    record = publish(AuditEvent(event_id="e-1", zone_id="zone-1", labels={"request_id": "r-1"}))
    decoded = AUDIT_EVENTS_V1.decode(record.value, record.headers)
    assert_type(decoded, AuditEvent)
    assert decoded.zone_id == "zone-1"
    print(record.topic, record.key, len(record.value))


if __name__ == "__main__":
    main()
