//! Uses a topic binding the way a service would: it must compile (and run).
use registry_contracts::audit::v1::AuditEvent;
use registry_contracts::topics::AUDIT_EVENTS_V1;

fn main() {
    let event = AuditEvent {
        event_id: "e-1".into(),
        zone_id: "zone-1".into(),
        ..AuditEvent::default()
    };
    let record = AUDIT_EVENTS_V1.encode(&event);
    let decoded: AuditEvent = AUDIT_EVENTS_V1
        .decode(Some(&record.value), &record.headers)
        .expect("decodes");
    assert_eq!(decoded, event);
    println!("{} {}", AUDIT_EVENTS_V1.name(), decoded.zone_id);
}
