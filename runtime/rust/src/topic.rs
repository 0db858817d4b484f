//! A topic bound to one message type, and the records it writes and reads.

use std::fmt;
use std::marker::PhantomData;
use std::time::SystemTime;

use prost::Message;

use crate::envelope::{self, DLQ_SUFFIX};
use crate::error::{DecodeError, Error};
use crate::validation::Validation;

/// Extracts a record key from a message; see [`crate::key`].
pub type KeyFn<T> = fn(&T) -> Vec<u8>;

/// A Kafka topic bound to the message type `T`: the only type that can be
/// written to it or read from it through this binding.
///
/// Generated code declares one `const` per topic:
///
/// ```
/// # #[derive(Clone, PartialEq, prost::Message)]
/// # pub struct AuditEvent { #[prost(string, tag = "1")] pub zone_id: String }
/// use contracts_runtime::{Topic, Settings};
///
/// pub const AUDIT_EVENTS_V1: Topic<AuditEvent> = Topic::new(
///     "audit.events.v1",
///     "audit.v1.AuditEvent",
///     Some(|m: &AuditEvent| contracts_runtime::key::string(&m.zone_id)),
///     Settings {
///         partitions: Some(12), replication_factor: Some(3), retention_ms: Some(604_800_000),
///         cleanup_policy: Some("delete"), owner: "team-audit", producers: &["svc-audit"],
///         consumers: &["svc-search"], compatibility: "source",
///     },
/// );
///
/// let record = AUDIT_EVENTS_V1.encode(&AuditEvent { zone_id: "eu-1".into() });
/// assert_eq!(record.key.as_deref(), Some(b"eu-1".as_slice()));
/// ```
///
/// Another message type does not compile:
///
/// ```compile_fail,E0308
/// # #[derive(Clone, PartialEq, prost::Message)]
/// # pub struct AuditEvent { #[prost(string, tag = "1")] pub zone_id: String }
/// # #[derive(Clone, PartialEq, prost::Message)]
/// # pub struct Other { #[prost(string, tag = "1")] pub name: String }
/// # use contracts_runtime::{Topic, Settings};
/// # const AUDIT: Topic<AuditEvent> = Topic::new("audit.events.v1", "audit.v1.AuditEvent", None,
/// #     Settings { partitions: None, replication_factor: None, retention_ms: None, cleanup_policy: None,
/// #                owner: "o", producers: &[], consumers: &[], compatibility: "source" });
/// AUDIT.encode(&Other::default());
/// ```
pub struct Topic<T: Message + Default> {
    name: &'static str,
    type_name: &'static str,
    key: Option<KeyFn<T>>,
    settings: Settings,
    validation: Validation,
    /// Encoded `FileDescriptorSet`s that define `T` (and what it imports
    /// besides protovalidate and the well-known types), for validation.
    descriptors: &'static [&'static [u8]],
    // `fn() -> T`: a topic neither owns a `T` nor borrows one, so it is Send,
    // Sync and Copy whatever `T` is.
    message: PhantomData<fn() -> T>,
}

/// A topic's settings from the registry, as generated. `None` means "the
/// cluster's default".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub partitions: Option<i32>,
    pub replication_factor: Option<i32>,
    pub retention_ms: Option<i64>,
    /// `delete`, `compact` or `compact,delete`.
    pub cleanup_policy: Option<&'static str>,
    pub owner: &'static str,
    pub producers: &'static [&'static str],
    pub consumers: &'static [&'static str],
    /// The registry's compatibility mode for the topic's message.
    pub compatibility: &'static str,
}

impl<T: Message + Default> Topic<T> {
    /// Binds `name` to `T`, whose fully qualified protobuf name is `type_name`.
    /// Its mode is [`Validation::Reject`] and it has no descriptors; see
    /// [`Topic::with_validation`] and [`Topic::with_descriptors`].
    pub const fn new(name: &'static str, type_name: &'static str, key: Option<KeyFn<T>>, settings: Settings) -> Self {
        Self { name, type_name, key, settings, validation: Validation::Reject, descriptors: &[], message: PhantomData }
    }

    /// The topic with the registry's validation mode instead of the default
    /// [`Validation::Reject`].
    pub const fn with_validation(self, validation: Validation) -> Self {
        Self { validation, ..self }
    }

    /// The topic with the encoded `FileDescriptorSet`s that define `T`, such
    /// as the `FILE_DESCRIPTOR_SET` constants protoc-gen-prost writes with its
    /// `file_descriptor_set` option: with the feature `validate` they are
    /// where `T`'s field rules are read from (without any, `T` is looked up
    /// in prost-reflect's global pool, and a type not found there is not
    /// validated). Without the feature they are unused.
    pub const fn with_descriptors(self, descriptors: &'static [&'static [u8]]) -> Self {
        Self { descriptors, ..self }
    }

    /// Where the field rules are enforced.
    pub const fn validation(&self) -> Validation {
        self.validation
    }

    /// The descriptor sets given with [`Topic::with_descriptors`].
    pub const fn descriptors(&self) -> &'static [&'static [u8]] {
        self.descriptors
    }

    /// Validates `message` if the mode asks `send` to; without the feature
    /// `validate` nothing is checked.
    #[cfg(feature = "kafka")]
    #[cfg_attr(not(feature = "validate"), allow(unused_variables, clippy::unnecessary_wraps))]
    pub(crate) fn check_on_send(&self, message: &T) -> Result<(), Error> {
        #[cfg(feature = "validate")]
        if self.validation.on_send() {
            return self.validate(message);
        }
        Ok(())
    }

    /// Validates a decoded `message` unless the mode is [`Validation::Off`];
    /// without the feature `validate` nothing is checked.
    #[cfg(feature = "kafka")]
    #[cfg_attr(not(feature = "validate"), allow(unused_variables, clippy::unnecessary_wraps))]
    pub(crate) fn check_on_consume(&self, message: &T) -> Result<(), Error> {
        #[cfg(feature = "validate")]
        if self.validation.on_consume() {
            return self.validate(message);
        }
        Ok(())
    }

    /// The Kafka topic name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The fully qualified protobuf name of `T`, written as `ce_type`.
    pub const fn type_name(&self) -> &'static str {
        self.type_name
    }

    pub const fn settings(&self) -> &Settings {
        &self.settings
    }

    /// `<name>.dlq`, where consumers dead-letter what they cannot process.
    pub fn dlq_name(&self) -> String {
        format!("{}{DLQ_SUFFIX}", self.name)
    }

    /// The record key of `message`; `None` when the topic has no key.
    pub fn key(&self, message: &T) -> Option<Vec<u8>> {
        self.key.map(|key_of| key_of(message))
    }

    /// The record for `message`: plain protobuf value, key, CloudEvents headers
    /// with a fresh id, the current time and source `contracts`.
    pub fn encode(&self, message: &T) -> EncodedRecord {
        self.encode_with(message, EncodeOptions::default())
    }

    /// Like [`Topic::encode`], with the caller's source, id or time where given.
    pub fn encode_with(&self, message: &T, options: EncodeOptions<'_>) -> EncodedRecord {
        let source = options.source.unwrap_or(envelope::DEFAULT_SOURCE);
        let time = options.time.unwrap_or_else(SystemTime::now);
        EncodedRecord {
            topic: self.name,
            key: self.key(message),
            value: message.encode_to_vec(),
            headers: envelope::cloud_event_headers((self.type_name, source, options.id, time)),
        }
    }

    /// Reads a record of this topic: checks `ce_type`, then parses the value.
    pub fn decode(&self, value: Option<&[u8]>, headers: &[Header]) -> Result<T, Error> {
        let ce_type =
            headers.iter().find(|header| header.key == envelope::CE_TYPE).map(|header| header.value.as_slice());
        self.decode_parts(value, ce_type)
    }

    /// [`Topic::decode`] given the `ce_type` header's value (if any) instead of
    /// all headers, so a client can decode without copying its headers.
    pub fn decode_parts(&self, value: Option<&[u8]>, ce_type: Option<&[u8]>) -> Result<T, Error> {
        if ce_type != Some(self.type_name.as_bytes()) {
            return Err(Error::WrongType {
                expected: self.type_name,
                actual: ce_type.map(|bytes| String::from_utf8_lossy(bytes).into_owned()),
            });
        }
        let type_name = self.type_name;
        let value = value.ok_or(Error::Decode(DecodeError::NoValue { type_name }))?;
        T::decode(value).map_err(|error| Error::Decode(DecodeError::Invalid { type_name, error }))
    }
}

impl<T: Message + Default> Clone for Topic<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Message + Default> Copy for Topic<T> {}

impl<T: Message + Default> fmt::Debug for Topic<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Topic")
            .field("name", &self.name)
            .field("type_name", &self.type_name)
            .field("keyed", &self.key.is_some())
            .field("settings", &self.settings)
            .field("validation", &self.validation)
            .field("descriptor_sets", &self.descriptors.len())
            .finish()
    }
}

/// What [`Topic::encode_with`] takes from the caller instead of its defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EncodeOptions<'a> {
    /// `ce_source`; default `contracts`.
    pub source: Option<&'a str>,
    /// `ce_id`; default a fresh `<32 hex>-<n>`.
    pub id: Option<&'a str>,
    /// `ce_time`; default now.
    pub time: Option<SystemTime>,
}

/// A Kafka record as the envelope defines it (key, value, headers), ready
/// for any client; the decoded form handed to handlers is [`crate::Record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedRecord {
    pub topic: &'static str,
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub headers: Vec<Header>,
}

impl EncodedRecord {
    /// The value of the first header named `key`.
    pub fn header(&self, key: &str) -> Option<&[u8]> {
        self.headers.iter().find(|header| header.key == key).map(|header| header.value.as_slice())
    }
}

/// One record header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    pub key: String,
    pub value: Vec<u8>,
}

impl Header {
    pub fn new(key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Self { key: key.into(), value: value.into() }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::{envelope, key};

    #[derive(Clone, PartialEq, prost::Message)]
    struct AuditEvent {
        #[prost(string, tag = "1")]
        zone_id: String,
        #[prost(int64, tag = "2")]
        sequence: i64,
        #[prost(bytes = "vec", tag = "3")]
        payload: Vec<u8>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct Heartbeat {
        #[prost(bool, tag = "1")]
        alive: bool,
    }

    const SETTINGS: Settings = Settings {
        partitions: Some(12),
        replication_factor: Some(3),
        retention_ms: Some(604_800_000),
        cleanup_policy: Some("delete"),
        owner: "team-audit",
        producers: &["svc-audit"],
        consumers: &["svc-search"],
        compatibility: "source",
    };

    const AUDIT: Topic<AuditEvent> =
        Topic::new("audit.events.v1", "audit.v1.AuditEvent", Some(|m: &AuditEvent| key::string(&m.zone_id)), SETTINGS);

    fn sequence_key(event: &AuditEvent) -> Vec<u8> {
        key::int(event.sequence)
    }

    const BY_SEQUENCE: Topic<AuditEvent> =
        Topic::new("audit.by-seq.v1", "audit.v1.AuditEvent", Some(sequence_key), SETTINGS);

    const HEARTBEATS: Topic<Heartbeat> = Topic::new("ops.heartbeats.v1", "ops.v1.Heartbeat", None, SETTINGS);

    fn event() -> AuditEvent {
        AuditEvent { zone_id: "eu-1".into(), sequence: -7, payload: vec![0, 1, 255] }
    }

    fn type_header(value: &str) -> Vec<Header> {
        vec![Header::new(envelope::CE_TYPE, value)]
    }

    #[test]
    fn accessors_return_the_binding() {
        assert_eq!(AUDIT.name(), "audit.events.v1");
        assert_eq!(AUDIT.type_name(), "audit.v1.AuditEvent");
        assert_eq!(AUDIT.dlq_name(), "audit.events.v1.dlq");
        assert_eq!(AUDIT.settings().partitions, Some(12));
        assert_eq!(AUDIT.settings().consumers, &["svc-search"]);
    }

    #[test]
    fn keys_come_from_the_key_function() {
        assert_eq!(AUDIT.key(&event()), Some(b"eu-1".to_vec()));
        assert_eq!(BY_SEQUENCE.key(&event()), Some(b"-7".to_vec()));
        assert_eq!(HEARTBEATS.key(&Heartbeat { alive: true }), None);
    }

    #[test]
    fn encode_writes_value_key_and_headers_in_order() {
        let record = AUDIT.encode(&event());
        assert_eq!(record.topic, "audit.events.v1");
        assert_eq!(record.key.as_deref(), Some(b"eu-1".as_slice()));
        assert_eq!(record.value, event().encode_to_vec());
        let names: Vec<&str> = record.headers.iter().map(|header| header.key.as_str()).collect();
        assert_eq!(names, ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"]);
        assert_eq!(record.header("ce_specversion"), Some(b"1.0".as_slice()));
        assert_eq!(record.header("ce_source"), Some(b"contracts".as_slice()));
        assert_eq!(record.header("ce_type"), Some(b"audit.v1.AuditEvent".as_slice()));
        assert_eq!(record.header("content-type"), Some(b"application/protobuf".as_slice()));
        let time = std::str::from_utf8(record.header("ce_time").unwrap()).unwrap();
        assert_eq!((time.len(), time.as_bytes()[10], time.ends_with('Z')), (24, b'T', true));
        let id = std::str::from_utf8(record.header("ce_id").unwrap()).unwrap();
        assert!(id.len() > 33 && id.as_bytes()[32] == b'-', "{id}");
    }

    #[test]
    fn each_record_gets_a_new_id() {
        assert_ne!(AUDIT.encode(&event()).header("ce_id"), AUDIT.encode(&event()).header("ce_id"));
    }

    #[test]
    fn encode_with_uses_the_callers_source_id_and_time() {
        let options = EncodeOptions {
            source: Some("svc-audit"),
            id: Some("id-1"),
            time: Some(UNIX_EPOCH + Duration::from_millis(1_795_567_700_123)),
        };
        let record = AUDIT.encode_with(&event(), options);
        assert_eq!(record.header("ce_source"), Some(b"svc-audit".as_slice()));
        assert_eq!(record.header("ce_id"), Some(b"id-1".as_slice()));
        assert_eq!(record.header("ce_time"), Some(b"2026-11-25T00:48:20.123Z".as_slice()));
    }

    #[test]
    fn a_topic_without_key_writes_a_null_key() {
        let record = HEARTBEATS.encode(&Heartbeat { alive: true });
        assert_eq!(record.key, None);
        assert_eq!(record.header("ce_type"), Some(b"ops.v1.Heartbeat".as_slice()));
    }

    #[test]
    fn decode_returns_an_equal_message() {
        let record = AUDIT.encode(&event());
        assert_eq!(AUDIT.decode(Some(&record.value), &record.headers), Ok(event()));
        // The default message encodes to no bytes at all.
        let empty = HEARTBEATS.encode(&Heartbeat::default());
        assert!(empty.value.is_empty());
        assert_eq!(HEARTBEATS.decode(Some(&empty.value), &empty.headers), Ok(Heartbeat::default()));
    }

    #[test]
    fn decode_ignores_header_order_and_other_headers() {
        let mut record = AUDIT.encode(&event());
        record.headers.reverse();
        record.headers.insert(0, Header::new("traceparent", "00-abc"));
        assert_eq!(AUDIT.decode(Some(&record.value), &record.headers), Ok(event()));
    }

    #[test]
    fn another_type_is_a_wrong_type_error() {
        let record = HEARTBEATS.encode(&Heartbeat { alive: true });
        let error = AUDIT.decode(Some(&record.value), &record.headers).unwrap_err();
        assert_eq!(
            error,
            Error::WrongType { expected: "audit.v1.AuditEvent", actual: Some("ops.v1.Heartbeat".into()) }
        );
        assert_eq!(
            error.to_string(),
            r#"wrong message type: expected ce_type "audit.v1.AuditEvent", got "ops.v1.Heartbeat""#
        );
    }

    #[test]
    fn a_missing_type_is_a_wrong_type_error() {
        let error = AUDIT.decode(Some(&event().encode_to_vec()), &[]).unwrap_err();
        assert_eq!(error, Error::WrongType { expected: "audit.v1.AuditEvent", actual: None });
        assert_eq!(
            error.to_string(),
            r#"wrong message type: expected ce_type "audit.v1.AuditEvent", got no ce_type header"#
        );
    }

    #[test]
    fn the_type_is_checked_before_the_value() {
        let error = AUDIT.decode(Some(b"\xff\xff"), &type_header("audit.v1.Other")).unwrap_err();
        assert!(matches!(error, Error::WrongType { .. }), "{error:?}");
        let error = AUDIT.decode_parts(None, Some(b"\xffaudit")).unwrap_err();
        assert_eq!(error, Error::WrongType { expected: "audit.v1.AuditEvent", actual: Some("\u{fffd}audit".into()) });
    }

    #[test]
    fn garbage_is_a_decode_error() {
        let error = AUDIT.decode(Some(b"\xff\xff\xff"), &type_header("audit.v1.AuditEvent")).unwrap_err();
        let Error::Decode(DecodeError::Invalid { type_name, .. }) = &error else {
            panic!("expected a decode error, got {error:?}");
        };
        assert_eq!(*type_name, "audit.v1.AuditEvent");
        let text = error.to_string();
        assert!(
            text.starts_with("value is not a valid audit.v1.AuditEvent message: failed to decode Protobuf message"),
            "{text}"
        );
        assert!(!text.contains('\n'));
    }

    #[test]
    fn invalid_utf8_in_a_string_field_is_a_decode_error() {
        let value = [0x0a, 0x02, 0xc3, 0x28]; // field 1, length 2, not UTF-8
        let error = AUDIT.decode(Some(&value), &type_header("audit.v1.AuditEvent")).unwrap_err();
        assert!(matches!(error, Error::Decode(DecodeError::Invalid { .. })), "{error:?}");
    }

    #[test]
    fn a_null_value_is_a_decode_error() {
        let error = AUDIT.decode(None, &type_header("audit.v1.AuditEvent")).unwrap_err();
        assert_eq!(error, Error::Decode(DecodeError::NoValue { type_name: "audit.v1.AuditEvent" }));
        assert_eq!(
            error.to_string(),
            "record has no value (null, a tombstone): expected a audit.v1.AuditEvent message"
        );
    }

    #[test]
    fn topics_are_copy_send_and_sync() {
        fn assert_traits<X: Copy + Send + Sync + 'static>(_: X) {}
        assert_traits(AUDIT);
        let copy = AUDIT;
        assert_eq!(copy.name(), AUDIT.name());
    }
}
