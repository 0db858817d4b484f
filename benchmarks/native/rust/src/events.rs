//! The messages of benchmarks/sdk.py's make_events, and the topic binding.

use std::collections::BTreeMap;

use contracts_runtime::{key, Topic};
use registry_contracts::audit::v1::{audit_event, AuditEvent};
use registry_contracts::common::v1::Actor;
use registry_contracts::topics::AUDIT_EVENTS_V1;

/// Distinct messages, cycled through as in benchmarks/sdk.py.
const DISTINCT_EVENTS: usize = 1000;

/// AuditEvents of about 150 bytes, each with its own zone (the key) and event id.
pub fn make_events() -> Vec<AuditEvent> {
    (0..DISTINCT_EVENTS)
        .map(|n| AuditEvent {
            // str(uuid.UUID(int=id)) for ids below 2^48
            event_id: format!("00000000-0000-0000-0000-{:012x}", n as u64 * 7919 + 1),
            zone_id: format!("zone-{n:06}"),
            actor: Some(Actor {
                id: format!("user-{}", n % 97),
                display_name: "Ada Lovelace".into(),
                ip_address: "192.0.2.10".into(),
                ..Actor::default()
            }),
            occurred_at: Some(prost_types::Timestamp { seconds: 1_764_000_000 + n as i64, nanos: 123_000_000 }),
            labels: BTreeMap::from([
                ("request_id".to_owned(), format!("req-{n:08}")),
                ("user_agent".to_owned(), "curl/8.11.1".to_owned()),
            ]),
            change: Some(audit_event::Change::ZoneDeleted(audit_event::ZoneDeleted {
                zone_name: format!("example-{n}.com"),
                record_count: (n % 500) as u32,
                ..Default::default()
            })),
            ..AuditEvent::default()
        })
        .collect()
}

/// AUDIT_EVENTS_V1's binding (type, type name, key) on the benchmark's topic,
/// so that a shared cluster's real topic gets no records.
pub fn audit_topic(name: &str) -> Topic<AuditEvent> {
    let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
    Topic::new(
        name,
        AUDIT_EVENTS_V1.type_name(),
        Some(|event: &AuditEvent| key::string(&event.zone_id)),
        *AUDIT_EVENTS_V1.settings(),
    )
}
