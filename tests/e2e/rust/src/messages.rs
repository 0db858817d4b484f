//! The messages of tests/test_e2e.py ("messages built from an index"), value
//! for value the same as audit_event, email_message and preference_changed
//! there and in ../go/messages.go.

use std::collections::BTreeMap;

use prost_types::value::Kind;
use prost_types::{Duration, ListValue, Struct, Timestamp, Value};
use registry_contracts::audit::v1::{audit_event, AuditEvent};
use registry_contracts::common::v1::{Actor, ActorKind, Channel, EmailAddress};
use registry_contracts::email::v1::{email_message, EmailMessage, Priority};
use registry_contracts::preferences::v1::{ChannelPreference, PreferenceChanged, QuietHours};

const BASE_SECONDS: i64 = 1_795_567_700; // 2026-11-25T00:48:20Z

pub fn audit_event(i: u64) -> AuditEvent {
    let n = i as i64;
    // Some keys are not ASCII, some are empty (an empty key, not none).
    let zone_id = match (i % 7, i % 5) {
        (6, _) => String::new(),
        (_, 4) => format!("zöne-{i}"),
        _ => format!("zone-{i}"),
    };
    let (kind, parity) = if i.is_multiple_of(2) { (ActorKind::User, "even") } else { (ActorKind::Service, "odd") };
    let change = if i.is_multiple_of(2) {
        audit_event::Change::ZoneDeleted(audit_event::ZoneDeleted {
            zone_name: format!("z{i}.example.com"),
            soft: i.is_multiple_of(4),
            record_count: (i * 1000) as u32,
        })
    } else {
        audit_event::Change::SettingChanged(audit_event::SettingChanged {
            setting: "ttl".to_owned(),
            old_value: i.to_string(),
            new_value: (i + 1).to_string(),
        })
    };
    let details = Struct {
        fields: BTreeMap::from([
            ("index".to_owned(), value(Kind::NumberValue(i as f64))),
            ("half".to_owned(), value(Kind::NumberValue(i as f64 / 2.0))),
            (
                "tags".to_owned(),
                value(Kind::ListValue(ListValue {
                    values: vec![
                        value(Kind::StringValue("e2e".to_owned())),
                        value(Kind::BoolValue(i.is_multiple_of(3))),
                    ],
                })),
            ),
            ("none".to_owned(), value(Kind::NullValue(0))),
        ]),
    };
    AuditEvent {
        event_id: format!("audit-{i}"),
        zone_id,
        actor: Some(Actor {
            kind: kind as i32,
            id: format!("actor-{i}"),
            display_name: format!("Actor №{i}"),
            ip_address: format!("10.0.0.{}", i % 256),
        }),
        occurred_at: Some(Timestamp { seconds: BASE_SECONDS + n, nanos: ((i * 1_000_003) % 1_000_000_000) as i32 }),
        labels: BTreeMap::from([("index".to_owned(), i.to_string()), ("parity".to_owned(), parity.to_owned())]),
        details: Some(details),
        change: Some(change),
    }
}

pub fn email_message(i: u64) -> EmailMessage {
    let n = i as i64;
    let attachment_name = format!("note-{i}.txt");
    EmailMessage {
        message_id: format!("msg-{i}"),
        template_id: "welcome".to_owned(),
        template_version: (i + 1) as i32,
        to: vec![EmailAddress { address: format!("user{i}@example.com"), name: format!("User {i}") }],
        cc: if i % 2 == 1 {
            vec![EmailAddress { address: "audit@example.com".to_owned(), name: String::new() }]
        } else {
            vec![]
        },
        metadata: BTreeMap::from([("index".to_owned(), i.to_string())]),
        priority: match i % 3 {
            0 => Priority::Low,
            1 => Priority::Normal,
            _ => Priority::High,
        } as i32,
        send_after: Some(Timestamp { seconds: BASE_SECONDS + 60 * n, nanos: 0 }),
        expires_in: Some(Duration { seconds: 3600 * (n + 1), nanos: i as i32 }),
        reply_to: if i.is_multiple_of(2) { Some(format!("reply-{i}@example.com")) } else { None },
        attachments: BTreeMap::from([(
            attachment_name.clone(),
            email_message::Attachment {
                filename: attachment_name,
                content_type: "text/plain".to_owned(),
                content: vec![(i % 256) as u8, 0, 255],
            },
        )]),
        limits: Some(email_message::Limits {
            max_bytes: -n * 1000,
            quota_left: (1 << 63) + i,
            tz_offset_minutes: -60 * n as i32,
            balance: -(1 << 40) - n,
            shard: i as u32,
            tenant: u64::MAX - i,
            delta: -(n as i32),
            big_delta: -(1 << 50) - n,
            spam_score: i as f32 / 4.0,
            reputation: 0.5 + i as f64 / 8.0,
            retries: i as u32,
        }),
    }
}

pub fn preference_changed(i: u64) -> PreferenceChanged {
    PreferenceChanged {
        user_id: format!("user-{i}"),
        changed_by: Some(Actor {
            kind: ActorKind::System as i32,
            id: "svc-accounts".to_owned(),
            display_name: String::new(),
            ip_address: String::new(),
        }),
        changed_at: Some(Timestamp { seconds: BASE_SECONDS + i as i64, nanos: 500_000_000 }),
        channels: vec![
            ChannelPreference { channel: Channel::Email as i32, opted_in: true },
            ChannelPreference { channel: Channel::Sms as i32, opted_in: i.is_multiple_of(2) },
        ],
        subscriptions: vec!["news".to_owned(), format!("tips-{i}")],
        locale: "de-CH".to_owned(),
        quiet_hours: Some(QuietHours { start_minute: 1320, end_minute: 420, time_zone: "Europe/Zurich".to_owned() }),
    }
}

fn value(kind: Kind) -> Value {
    Value { kind: Some(kind) }
}
