//! The catalog: the same vectors, id for id and value for value, as CATALOG in
//! tests/test_golden_vectors.py and tests/vectors/go/catalog.go.

use std::collections::BTreeMap;

use prost_types::{value::Kind, Duration, ListValue, NullValue, Struct, Timestamp, Value};
use registry_contracts::audit::v1::{audit_event, AuditEvent};
use registry_contracts::common::v1::{Actor, ActorKind, Channel, EmailAddress};
use registry_contracts::email::v1::{email_message, EmailMessage, Priority};
use registry_contracts::marketing::v1::AudienceMember;
use registry_contracts::preferences::v1::{ChannelPreference, PreferenceChanged, QuietHours};

/// A catalog message, tagged with its topic's message type.
pub enum Built {
    Audit(AuditEvent),
    Email(EmailMessage),
    Marketing(AudienceMember),
    Preferences(PreferenceChanged),
}

const TIMESTAMP_MAX: Timestamp = Timestamp { seconds: 253_402_300_799, nanos: 999_999_999 };
const TIMESTAMP_MIN: Timestamp = Timestamp { seconds: -62_135_596_800, nanos: 0 };

fn number(value: f64) -> Value {
    Value { kind: Some(Kind::NumberValue(value)) }
}

fn text(value: &str) -> Value {
    Value { kind: Some(Kind::StringValue(value.to_owned())) }
}

fn boolean(value: bool) -> Value {
    Value { kind: Some(Kind::BoolValue(value)) }
}

fn null() -> Value {
    Value { kind: Some(Kind::NullValue(NullValue::NullValue.into())) }
}

fn list(values: Vec<Value>) -> Value {
    Value { kind: Some(Kind::ListValue(ListValue { values })) }
}

fn object(fields: Vec<(&str, Value)>) -> Value {
    Value { kind: Some(Kind::StructValue(structure(fields))) }
}

fn structure(fields: Vec<(&str, Value)>) -> Struct {
    Struct { fields: fields.into_iter().map(|(key, value)| (key.to_owned(), value)).collect() }
}

fn strings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect()
}

fn address(address: &str, name: &str) -> EmailAddress {
    EmailAddress { address: address.to_owned(), name: name.to_owned() }
}

fn actor(kind: i32, id: &str, display_name: &str, ip_address: &str) -> Actor {
    Actor { kind, id: id.to_owned(), display_name: display_name.to_owned(), ip_address: ip_address.to_owned() }
}

fn audit_zone_deleted() -> AuditEvent {
    AuditEvent {
        event_id: "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
        zone_id: "zone-42".into(),
        actor: Some(actor(ActorKind::User.into(), "user-1001", "Ada Lovelace", "2001:db8::1")),
        occurred_at: Some(Timestamp { seconds: 1_795_567_700, nanos: 123_456_789 }),
        change: Some(audit_event::Change::ZoneDeleted(audit_event::ZoneDeleted {
            zone_name: "example.com".into(),
            soft: true,
            record_count: u32::MAX,
        })),
        labels: strings(&[
            ("request_id", "req-7f3a"),
            ("user_agent", "curl/8.5.0"),
            ("client", "terraform"),
            ("z-last", "z"),
            ("a-first", "a"),
        ]),
        details: Some(structure(vec![
            ("count", number(3.0)),
            ("ratio", number(0.25)),
            ("dry_run", boolean(false)),
            ("reason", text("customer request")),
            ("previous", null()),
            ("tags", list(vec![text("dns"), number(2.0), boolean(true), null(), object(vec![("k", text("v"))])])),
            ("nested", object(vec![("depth", number(1.0)), ("inner", object(vec![("list", list(vec![]))]))])),
            ("empty", object(vec![])),
        ])),
    }
}

fn audit_setting_changed() -> AuditEvent {
    AuditEvent {
        event_id: "e-2".into(),
        zone_id: "zone-7".into(),
        actor: Some(actor(ActorKind::Service.into(), "svc-zones", "", "10.0.0.7")),
        occurred_at: Some(Timestamp { seconds: -1, nanos: 1 }),
        change: Some(audit_event::Change::SettingChanged(audit_event::SettingChanged {
            setting: "ssl_mode".into(),
            old_value: "flexible".into(),
            new_value: "strict".into(),
        })),
        labels: strings(&[("request_id", "req-8")]),
        ..Default::default()
    }
}

fn audit_present_but_empty() -> AuditEvent {
    AuditEvent {
        actor: Some(Actor::default()),
        occurred_at: Some(Timestamp::default()),
        change: Some(audit_event::Change::ZoneDeleted(audit_event::ZoneDeleted::default())),
        details: Some(Struct::default()),
        ..Default::default()
    }
}

fn audit_empty_setting_changed() -> AuditEvent {
    AuditEvent {
        zone_id: "zone-8".into(),
        change: Some(audit_event::Change::SettingChanged(audit_event::SettingChanged::default())),
        ..Default::default()
    }
}

fn audit_unicode() -> AuditEvent {
    AuditEvent {
        event_id: "événement-😀".into(),
        zone_id: "zoné-日本-🦀".into(),
        actor: Some(actor(ActorKind::System.into(), "用户-1", "𝔸𝕕𝕒 Łovelace 👩‍💻", "")),
        change: Some(audit_event::Change::ZoneDeleted(audit_event::ZoneDeleted {
            zone_name: "bücher.example".into(),
            ..Default::default()
        })),
        labels: strings(&[
            ("é", "e-acute"),
            ("z", "ascii"),
            ("日本", "cjk"),
            ("😀", "astral"),
            ("\u{fffd}", "replacement"),
            ("Z", "upper"),
        ]),
        details: Some(structure(vec![
            ("名前", text("テスト")),
            ("emoji", text("🎉")),
            ("mixed", list(vec![text("ä"), text("😀")])),
        ])),
        ..Default::default()
    }
}

fn audit_with_zone(zone_id: &str) -> AuditEvent {
    AuditEvent { zone_id: zone_id.into(), ..Default::default() }
}

fn audit_struct_numbers() -> AuditEvent {
    AuditEvent {
        details: Some(structure(vec![
            ("zero", number(0.0)),
            ("minus_zero", number(-0.0)),
            ("max", number(f64::MAX)),
            ("min_subnormal", number(f64::from_bits(1))),
            ("int_max", number(9_007_199_254_740_991.0)),
            ("below_freezing", number(-273.15)),
            ("tiny", number(1e-300)),
        ])),
        ..audit_with_zone("zone-14")
    }
}

fn email(message_id: &str) -> EmailMessage {
    EmailMessage { message_id: message_id.into(), ..Default::default() }
}

fn limits_only(message_id: &str, limits: email_message::Limits) -> EmailMessage {
    EmailMessage { limits: Some(limits), ..email(message_id) }
}

fn email_full() -> EmailMessage {
    EmailMessage {
        message_id: "msg-0001".into(),
        template_id: "invoice-ready".into(),
        template_version: 3,
        to: vec![address("ada@example.com", "Ada Lovelace"), address("grace@example.com", "Grace Hopper")],
        cc: vec![address("billing@example.com", "")],
        metadata: strings(&[
            ("invoice_no", "2026-0001"),
            ("amount", "12.50"),
            ("currency", "EUR"),
            ("Customer", "ACME"),
            ("due", "2026-12-01"),
        ]),
        priority: Priority::High.into(),
        send_after: Some(Timestamp { seconds: 1_795_567_700, nanos: 500_000_000 }),
        expires_in: Some(Duration { seconds: 3600, nanos: 250_000_000 }),
        reply_to: Some("support@example.com".into()),
        attachments: BTreeMap::from([
            (
                "cid-invoice".to_owned(),
                email_message::Attachment {
                    filename: "invoice.pdf".into(),
                    content_type: "application/pdf".into(),
                    content: b"%PDF-1.7\n\x00\x01\xff".to_vec(),
                },
            ),
            (
                "cid-logo".to_owned(),
                email_message::Attachment {
                    filename: "logo.png".into(),
                    content_type: "image/png".into(),
                    content: (0..=255).collect(),
                },
            ),
        ]),
        limits: Some(email_message::Limits {
            max_bytes: 10_485_760,
            quota_left: 5000,
            tz_offset_minutes: -300,
            balance: -1_234_567_890_123,
            shard: 7,
            tenant: 123_456_789_012,
            delta: -42,
            big_delta: -9_876_543_210,
            spam_score: 0.25,
            reputation: 0.875,
            retries: 3,
        }),
    }
}

fn email_limits_max() -> EmailMessage {
    EmailMessage {
        template_version: i32::MAX,
        send_after: Some(TIMESTAMP_MAX),
        expires_in: Some(Duration { seconds: 315_576_000_000, nanos: 999_999_999 }),
        limits: Some(email_message::Limits {
            max_bytes: i64::MAX,
            quota_left: u64::MAX,
            tz_offset_minutes: i32::MAX,
            balance: i64::MAX,
            shard: u32::MAX,
            tenant: u64::MAX,
            delta: i32::MAX,
            big_delta: i64::MAX,
            retries: u32::MAX,
            ..Default::default()
        }),
        ..email("msg-max")
    }
}

fn email_limits_min() -> EmailMessage {
    EmailMessage {
        template_version: i32::MIN,
        send_after: Some(TIMESTAMP_MIN),
        expires_in: Some(Duration { seconds: -315_576_000_000, nanos: -999_999_999 }),
        limits: Some(email_message::Limits {
            max_bytes: i64::MIN,
            quota_left: 1,
            tz_offset_minutes: i32::MIN,
            balance: i64::MIN,
            shard: 1,
            tenant: 1,
            delta: i32::MIN,
            big_delta: i64::MIN,
            spam_score: f32::from_bits(1),
            reputation: f64::from_bits(1),
            retries: 1,
        }),
        ..email("msg-min")
    }
}

fn email_negative_one() -> EmailMessage {
    EmailMessage {
        template_version: -1,
        priority: Priority::Low.into(),
        limits: Some(email_message::Limits {
            max_bytes: -1,
            tz_offset_minutes: -1,
            balance: -1,
            delta: -1,
            big_delta: -1,
            spam_score: -1.5,
            reputation: -0.1,
            ..Default::default()
        }),
        ..email("msg-minus-one")
    }
}

fn floats(spam_score: f32, reputation: f64) -> email_message::Limits {
    email_message::Limits { spam_score, reputation, ..Default::default() }
}

fn email_present_but_empty() -> EmailMessage {
    EmailMessage {
        send_after: Some(Timestamp::default()),
        expires_in: Some(Duration::default()),
        reply_to: Some(String::new()),
        limits: Some(email_message::Limits::default()),
        ..email("msg-empty-parts")
    }
}

fn email_unicode() -> EmailMessage {
    EmailMessage {
        message_id: "msg-日本-😀".into(),
        template_id: "welcome-ünïcödé".into(),
        to: vec![
            address("zoë@example.com", "Zoë Ünïcode"),
            address("用户@例子.广告", "李雷"),
            address("ferris@example.com", "🦀 Ferris"),
        ],
        metadata: strings(&[("emoji", "🎉🎊"), ("greeting", "こんにちは"), ("ümlaut", "ä"), ("𝔘𝔫𝔦", "astral key")]),
        reply_to: Some("réponse@example.com".into()),
        attachments: BTreeMap::from([(
            "cid-😀".to_owned(),
            email_message::Attachment {
                filename: "résumé – 😀.txt".into(),
                content_type: "text/plain; charset=utf-8".into(),
                content: "Grüße 😀".as_bytes().to_vec(),
            },
        )]),
        ..Default::default()
    }
}

fn email_repeated_many() -> EmailMessage {
    EmailMessage {
        priority: Priority::Normal.into(),
        to: (0..25).map(|n| address(&format!("user{n:02}@example.com"), &format!("User {n}"))).collect(),
        cc: vec![EmailAddress::default(), address("only@example.com", "")],
        ..email("msg-many")
    }
}

fn email_map_default_values() -> EmailMessage {
    EmailMessage {
        metadata: strings(&[("blank", "")]),
        attachments: BTreeMap::from([("cid-empty".to_owned(), email_message::Attachment::default())]),
        ..email("msg-map-defaults")
    }
}

fn email_map_many_keys() -> EmailMessage {
    let numbers: Vec<u32> = (1..=40).map(|index| 37 * index % 101).collect();
    EmailMessage {
        metadata: numbers.iter().map(|n| (format!("key-{n:03}"), format!("value-{n}"))).collect(),
        attachments: numbers[..5]
            .iter()
            .map(|n| {
                let attachment = email_message::Attachment { filename: format!("file-{n}.txt"), ..Default::default() };
                (format!("cid-{n:03}"), attachment)
            })
            .collect(),
        ..email("msg-many-keys")
    }
}

fn preferences_full() -> PreferenceChanged {
    let channel = |channel: Channel, opted_in: bool| ChannelPreference { channel: channel.into(), opted_in };
    PreferenceChanged {
        user_id: "user-1001".into(),
        changed_by: Some(actor(ActorKind::User.into(), "user-1001", "Ada", "192.0.2.1")),
        changed_at: Some(Timestamp { seconds: 1_795_567_700, nanos: 1 }),
        channels: vec![
            channel(Channel::Email, true),
            channel(Channel::Sms, false),
            channel(Channel::Push, true),
            ChannelPreference::default(),
        ],
        subscriptions: vec!["product-updates".into(), "billing".into(), String::new(), "security".into()],
        locale: "pt-BR".into(),
        quiet_hours: Some(QuietHours { start_minute: 1320, end_minute: 420, time_zone: "America/Sao_Paulo".into() }),
    }
}

fn preferences_unknown_enums() -> PreferenceChanged {
    PreferenceChanged {
        user_id: "user-2".into(),
        changed_by: Some(actor(-1, "migration-7", "", "")),
        channels: vec![
            ChannelPreference { channel: 99, opted_in: true },
            ChannelPreference { channel: i32::MAX, opted_in: false },
        ],
        ..Default::default()
    }
}

fn preferences_unicode() -> PreferenceChanged {
    PreferenceChanged {
        user_id: "ユーザー-😀".into(),
        changed_by: Some(actor(ActorKind::User.into(), "", "Łukasz 🧑‍🚀", "")),
        subscriptions: vec!["新闻".into(), "🎵 music".into(), "ñandú".into()],
        locale: "zh-Hant-TW".into(),
        quiet_hours: Some(QuietHours { start_minute: 0, end_minute: 1439, time_zone: "Asia/Kolkata".into() }),
        ..Default::default()
    }
}

fn preferences_empty_key() -> PreferenceChanged {
    PreferenceChanged {
        locale: "en".into(),
        changed_by: Some(Actor::default()),
        changed_at: Some(Timestamp::default()),
        quiet_hours: Some(QuietHours::default()),
        ..Default::default()
    }
}

fn audience_member(user_id: &str, email_opted_in: bool, lists: &[&str], locale: &str) -> AudienceMember {
    AudienceMember {
        user_id: user_id.to_owned(),
        email_opted_in,
        lists: lists.iter().map(|&list| list.to_owned()).collect(),
        locale: locale.to_owned(),
    }
}

fn marketing_unicode() -> AudienceMember {
    // "café" precomposed and decomposed: two different lists, since nothing may normalize text.
    let lists = ["新闻", "🎵 music", "café", "cafe\u{301}", "👩\u{200d}💻 dev", "𝔘𝔫𝔦"];
    audience_member("ユーザー-😀", true, &lists, "sr-Latn-RS")
}

fn marketing_repeated_strings() -> AudienceMember {
    let long = "x".repeat(300);
    audience_member("user-3", false, &["z-last", "", "a-first", "a-first", "", &long], "")
}

pub fn catalog() -> Vec<(&'static str, Built)> {
    use Built::{Audit, Email, Marketing, Preferences};
    vec![
        ("audit/empty", Audit(AuditEvent::default())),
        ("audit/zone-deleted", Audit(audit_zone_deleted())),
        ("audit/setting-changed", Audit(audit_setting_changed())),
        ("audit/present-but-empty", Audit(audit_present_but_empty())),
        ("audit/empty-setting-changed", Audit(audit_empty_setting_changed())),
        ("audit/unicode", Audit(audit_unicode())),
        (
            "audit/labels-prefix-keys",
            Audit(AuditEvent {
                labels: strings(&[
                    ("request_id", "req-9"),
                    ("request", "r"),
                    ("request_id_2", "x"),
                    ("b", "2"),
                    ("a", "1"),
                ]),
                ..audit_with_zone("zone-9")
            }),
        ),
        (
            "audit/map-empty-key",
            Audit(AuditEvent { labels: strings(&[("", "empty key")]), ..audit_with_zone("zone-10") }),
        ),
        (
            "audit/map-empty-value",
            Audit(AuditEvent { labels: strings(&[("empty-value", "")]), ..audit_with_zone("zone-11") }),
        ),
        ("audit/timestamp-max", Audit(AuditEvent { occurred_at: Some(TIMESTAMP_MAX), ..audit_with_zone("zone-12") })),
        ("audit/timestamp-min", Audit(AuditEvent { occurred_at: Some(TIMESTAMP_MIN), ..audit_with_zone("zone-13") })),
        ("audit/struct-numbers", Audit(audit_struct_numbers())),
        ("email/empty", Email(EmailMessage::default())),
        ("email/full", Email(email_full())),
        ("email/limits-max", Email(email_limits_max())),
        ("email/limits-min", Email(email_limits_min())),
        ("email/float-max", Email(limits_only("msg-float-max", floats(f32::MAX, f64::MAX)))),
        ("email/negative-one", Email(email_negative_one())),
        ("email/float-rounding", Email(limits_only("msg-round", floats(0.1, 0.1)))),
        ("email/negative-zero", Email(limits_only("msg-minus-zero", floats(-0.0, -0.0)))),
        ("email/infinities", Email(limits_only("msg-inf", floats(f32::INFINITY, f64::NEG_INFINITY)))),
        ("email/nan", Email(limits_only("msg-nan", floats(f32::NAN, f64::NAN)))),
        ("email/present-but-empty", Email(email_present_but_empty())),
        ("email/unicode", Email(email_unicode())),
        ("email/repeated-many", Email(email_repeated_many())),
        ("email/map-default-values", Email(email_map_default_values())),
        ("email/map-many-keys", Email(email_map_many_keys())),
        ("email/unknown-enum", Email(EmailMessage { priority: 99, ..email("msg-unknown-enum") })),
        ("marketing/empty", Marketing(AudienceMember::default())),
        (
            "marketing/full",
            Marketing(audience_member("user-1001", true, &["product-updates", "newsletter", "events"], "pt-BR")),
        ),
        ("marketing/opted-out", Marketing(audience_member("user-1002", false, &["product-updates"], "de-DE"))),
        ("marketing/unicode", Marketing(marketing_unicode())),
        ("marketing/empty-key", Marketing(audience_member("", true, &["newsletter"], "en"))),
        ("marketing/repeated-strings", Marketing(marketing_repeated_strings())),
        ("preferences/empty", Preferences(PreferenceChanged::default())),
        ("preferences/full", Preferences(preferences_full())),
        ("preferences/unknown-enums", Preferences(preferences_unknown_enums())),
        ("preferences/unicode", Preferences(preferences_unicode())),
        ("preferences/empty-key", Preferences(preferences_empty_key())),
    ]
}
