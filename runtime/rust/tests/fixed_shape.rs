//! The exact shape generated code is written against compiles and works.

pub mod audit {
    pub mod v1 {
        #[derive(Clone, PartialEq, prost::Message)]
        pub struct AuditEvent {
            #[prost(string, tag = "1")]
            pub zone_id: String,
            #[prost(enumeration = "Kind", tag = "2")]
            pub kind: i32,
        }

        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
        #[repr(i32)]
        pub enum Kind {
            Unspecified = 0,
            Login = 3,
        }
    }
}

use contracts_runtime::{Settings, Topic};

pub const AUDIT_EVENTS_V1: Topic<crate::audit::v1::AuditEvent> = Topic::new(
    "audit.events.v1",                                                                   // name
    "audit.v1.AuditEvent", // type_name (fully qualified proto name)
    Some(|m: &crate::audit::v1::AuditEvent| contracts_runtime::key::string(&m.zone_id)), // or None
    Settings {
        partitions: Some(12),
        replication_factor: Some(3),
        retention_ms: Some(604_800_000),
        cleanup_policy: Some("delete"),
        owner: "team-audit",
        producers: &["svc-audit"],
        consumers: &["svc-search"],
        compatibility: "source",
    },
);

pub const AUDIT_BY_KIND_V1: Topic<crate::audit::v1::AuditEvent> = Topic::new(
    "audit.by-kind.v1",
    "audit.v1.AuditEvent",
    Some(|m: &crate::audit::v1::AuditEvent| contracts_runtime::key::int(m.kind as i64)),
    Settings {
        partitions: None,
        replication_factor: None,
        retention_ms: None,
        cleanup_policy: None,
        owner: "team-audit",
        producers: &[],
        consumers: &[],
        compatibility: "source",
    },
);

pub static AUDIT_STATIC: Topic<crate::audit::v1::AuditEvent> = AUDIT_EVENTS_V1;

#[test]
fn the_generated_shape_round_trips() {
    let event = audit::v1::AuditEvent { zone_id: "eu-1".into(), kind: audit::v1::Kind::Login as i32 };
    let record = AUDIT_EVENTS_V1.encode(&event);
    assert_eq!(record.key.as_deref(), Some(b"eu-1".as_slice()));
    assert_eq!(AUDIT_EVENTS_V1.decode(Some(&record.value), &record.headers), Ok(event.clone()));
    assert_eq!(AUDIT_BY_KIND_V1.key(&event), Some(b"3".to_vec()));
    assert_eq!(AUDIT_STATIC.name(), "audit.events.v1");
}
