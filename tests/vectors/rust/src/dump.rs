//! The field dump of tests/vectors/README.md: every populated field as
//! `(path, value)`. prost has no reflection, so each message type says which
//! fields it has; a field left out here would show up as "missing" against the
//! Python and Go dumps, which are built from descriptors.

use std::collections::BTreeMap;

use prost_types::{value::Kind, Duration, ListValue, Struct, Timestamp, Value};
use registry_contracts::audit::v1::{audit_event, AuditEvent};
use registry_contracts::common::v1::{Actor, EmailAddress};
use registry_contracts::email::v1::{email_message, EmailMessage};
use registry_contracts::marketing::v1::AudienceMember;
use registry_contracts::preferences::v1::{ChannelPreference, PreferenceChanged, QuietHours};

pub type Fields = Vec<(String, String)>;

pub trait Dump {
    fn dump_into(&self, prefix: &str, out: &mut Fields);
}

/// The sorted dump of a whole message.
pub fn field_dump<T: Dump>(message: &T) -> Fields {
    let mut out = Fields::new();
    message.dump_into("", &mut out);
    out.sort();
    out
}

pub fn hex(data: &[u8]) -> String {
    data.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn push(out: &mut Fields, path: String, value: String) {
    out.push((path, value));
}

fn message<T: Dump>(out: &mut Fields, path: String, value: &T) {
    value.dump_into(&format!("{path}."), out);
    push(out, path, "{}".to_owned());
}

fn optional<T: Dump>(out: &mut Fields, prefix: &str, name: &str, value: &Option<T>) {
    if let Some(value) = value {
        message(out, format!("{prefix}{name}"), value);
    }
}

fn string(out: &mut Fields, prefix: &str, name: &str, value: &str) {
    if !value.is_empty() {
        push(out, format!("{prefix}{name}"), value.to_owned());
    }
}

fn bytes(out: &mut Fields, prefix: &str, name: &str, value: &[u8]) {
    if !value.is_empty() {
        push(out, format!("{prefix}{name}"), format!("0x{}", hex(value)));
    }
}

fn boolean(out: &mut Fields, prefix: &str, name: &str, value: bool) {
    if value {
        push(out, format!("{prefix}{name}"), "true".to_owned());
    }
}

/// Every signed integer kind and enums (prost keeps enums as `i32`).
fn int(out: &mut Fields, prefix: &str, name: &str, value: i64) {
    if value != 0 {
        push(out, format!("{prefix}{name}"), value.to_string());
    }
}

fn uint(out: &mut Fields, prefix: &str, name: &str, value: u64) {
    if value != 0 {
        push(out, format!("{prefix}{name}"), value.to_string());
    }
}

// Presence of a float follows its bits, as in protobuf: -0.0 is populated.
fn float(out: &mut Fields, prefix: &str, name: &str, value: f32) {
    if value.to_bits() != 0 {
        push(out, format!("{prefix}{name}"), f32_text(value));
    }
}

fn double(out: &mut Fields, prefix: &str, name: &str, value: f64) {
    if value.to_bits() != 0 {
        push(out, format!("{prefix}{name}"), f64_text(value));
    }
}

fn f32_text(value: f32) -> String {
    format!("f32:{:08x}", value.to_bits())
}

fn f64_text(value: f64) -> String {
    format!("f64:{:016x}", value.to_bits())
}

fn repeated<T: Dump>(out: &mut Fields, prefix: &str, name: &str, items: &[T]) {
    for (index, item) in items.iter().enumerate() {
        message(out, format!("{prefix}{name}[{index}]"), item);
    }
}

/// A repeated string: every element is populated, the empty string too.
fn strings(out: &mut Fields, prefix: &str, name: &str, items: &[String]) {
    for (index, item) in items.iter().enumerate() {
        push(out, format!("{prefix}{name}[{index}]"), item.clone());
    }
}

fn string_map(out: &mut Fields, prefix: &str, name: &str, map: &BTreeMap<String, String>) {
    for (key, value) in map {
        push(out, format!("{prefix}{name}{{{key}}}"), value.clone());
    }
}

fn message_map<T: Dump>(out: &mut Fields, prefix: &str, name: &str, map: &BTreeMap<String, T>) {
    for (key, value) in map {
        message(out, format!("{prefix}{name}{{{key}}}"), value);
    }
}

impl Dump for AuditEvent {
    fn dump_into(&self, p: &str, out: &mut Fields) {
        string(out, p, "event_id", &self.event_id);
        string(out, p, "zone_id", &self.zone_id);
        optional(out, p, "actor", &self.actor);
        optional(out, p, "occurred_at", &self.occurred_at);
        match &self.change {
            Some(audit_event::Change::ZoneDeleted(value)) => message(out, format!("{p}zone_deleted"), value),
            Some(audit_event::Change::SettingChanged(value)) => message(out, format!("{p}setting_changed"), value),
            None => {}
        }
        string_map(out, p, "labels", &self.labels);
        optional(out, p, "details", &self.details);
    }
}

impl Dump for audit_event::ZoneDeleted {
    fn dump_into(&self, p: &str, out: &mut Fields) {
        string(out, p, "zone_name", &self.zone_name);
        boolean(out, p, "soft", self.soft);
        uint(out, p, "record_count", self.record_count.into());
    }
}

impl Dump for audit_event::SettingChanged {
    fn dump_into(&self, p: &str, out: &mut Fields) {
        string(out, p, "setting", &self.setting);
        string(out, p, "old_value", &self.old_value);
        string(out, p, "new_value", &self.new_value);
    }
}

impl Dump for Actor {
    fn dump_into(&self, p: &str, out: &mut Fields) {
        int(out, p, "kind", self.kind.into());
        string(out, p, "id", &self.id);
        string(out, p, "display_name", &self.display_name);
        string(out, p, "ip_address", &self.ip_address);
    }
}

impl Dump for EmailAddress {
    fn dump_into(&self, p: &str, out: &mut Fields) {
        string(out, p, "address", &self.address);
        string(out, p, "name", &self.name);
    }
}

impl Dump for EmailMessage {
    fn dump_into(&self, p: &str, out: &mut Fields) {
        string(out, p, "message_id", &self.message_id);
        string(out, p, "template_id", &self.template_id);
        int(out, p, "template_version", self.template_version.into());
        repeated(out, p, "to", &self.to);
        repeated(out, p, "cc", &self.cc);
        string_map(out, p, "metadata", &self.metadata);
        int(out, p, "priority", self.priority.into());
        optional(out, p, "send_after", &self.send_after);
        optional(out, p, "expires_in", &self.expires_in);
        // google.protobuf.StringValue is an Option<String> in prost.
        if let Some(reply_to) = &self.reply_to {
            push(out, format!("{p}reply_to"), "{}".to_owned());
            string(out, &format!("{p}reply_to."), "value", reply_to);
        }
        message_map(out, p, "attachments", &self.attachments);
        optional(out, p, "limits", &self.limits);
    }
}

impl Dump for email_message::Attachment {
    fn dump_into(&self, p: &str, out: &mut Fields) {
        string(out, p, "filename", &self.filename);
        string(out, p, "content_type", &self.content_type);
        bytes(out, p, "content", &self.content);
    }
}

impl Dump for email_message::Limits {
    fn dump_into(&self, p: &str, out: &mut Fields) {
        int(out, p, "max_bytes", self.max_bytes);
        uint(out, p, "quota_left", self.quota_left);
        int(out, p, "tz_offset_minutes", self.tz_offset_minutes.into());
        int(out, p, "balance", self.balance);
        uint(out, p, "shard", self.shard.into());
        uint(out, p, "tenant", self.tenant);
        int(out, p, "delta", self.delta.into());
        int(out, p, "big_delta", self.big_delta);
        float(out, p, "spam_score", self.spam_score);
        double(out, p, "reputation", self.reputation);
        uint(out, p, "retries", self.retries.into());
    }
}

impl Dump for PreferenceChanged {
    fn dump_into(&self, p: &str, out: &mut Fields) {
        string(out, p, "user_id", &self.user_id);
        optional(out, p, "changed_by", &self.changed_by);
        optional(out, p, "changed_at", &self.changed_at);
        repeated(out, p, "channels", &self.channels);
        strings(out, p, "subscriptions", &self.subscriptions);
        string(out, p, "locale", &self.locale);
        optional(out, p, "quiet_hours", &self.quiet_hours);
    }
}

impl Dump for AudienceMember {
    fn dump_into(&self, p: &str, out: &mut Fields) {
        string(out, p, "user_id", &self.user_id);
        boolean(out, p, "email_opted_in", self.email_opted_in);
        strings(out, p, "lists", &self.lists);
        string(out, p, "locale", &self.locale);
    }
}

impl Dump for ChannelPreference {
    fn dump_into(&self, p: &str, out: &mut Fields) {
        int(out, p, "channel", self.channel.into());
        boolean(out, p, "opted_in", self.opted_in);
    }
}

impl Dump for QuietHours {
    fn dump_into(&self, p: &str, out: &mut Fields) {
        uint(out, p, "start_minute", self.start_minute.into());
        uint(out, p, "end_minute", self.end_minute.into());
        string(out, p, "time_zone", &self.time_zone);
    }
}

impl Dump for Timestamp {
    fn dump_into(&self, p: &str, out: &mut Fields) {
        int(out, p, "seconds", self.seconds);
        int(out, p, "nanos", self.nanos.into());
    }
}

impl Dump for Duration {
    fn dump_into(&self, p: &str, out: &mut Fields) {
        int(out, p, "seconds", self.seconds);
        int(out, p, "nanos", self.nanos.into());
    }
}

impl Dump for Struct {
    fn dump_into(&self, p: &str, out: &mut Fields) {
        message_map(out, p, "fields", &self.fields);
    }
}

impl Dump for Value {
    fn dump_into(&self, p: &str, out: &mut Fields) {
        // A oneof member is populated whatever its value.
        match &self.kind {
            Some(Kind::NullValue(value)) => push(out, format!("{p}null_value"), value.to_string()),
            Some(Kind::NumberValue(value)) => push(out, format!("{p}number_value"), f64_text(*value)),
            Some(Kind::StringValue(value)) => push(out, format!("{p}string_value"), value.clone()),
            Some(Kind::BoolValue(value)) => push(out, format!("{p}bool_value"), value.to_string()),
            Some(Kind::StructValue(value)) => message(out, format!("{p}struct_value"), value),
            Some(Kind::ListValue(value)) => message(out, format!("{p}list_value"), value),
            None => {}
        }
    }
}

impl Dump for ListValue {
    fn dump_into(&self, p: &str, out: &mut Fields) {
        repeated(out, p, "values", &self.values);
    }
}
