//! The record envelope of `docs/envelope.md`: CloudEvents headers in binary
//! content mode, and the headers a dead-lettered record carries.

use std::collections::hash_map::RandomState;
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::Header;

/// `ce_specversion` header.
pub const CE_SPECVERSION: &str = "ce_specversion";
/// `ce_id` header.
pub const CE_ID: &str = "ce_id";
/// `ce_source` header.
pub const CE_SOURCE: &str = "ce_source";
/// `ce_type` header: the fully qualified protobuf name of the value's message.
pub const CE_TYPE: &str = "ce_type";
/// `ce_time` header.
pub const CE_TIME: &str = "ce_time";
/// `content-type` header (CloudEvents' datacontenttype).
pub const CONTENT_TYPE: &str = "content-type";

/// Value of `ce_specversion`.
pub const SPEC_VERSION: &str = "1.0";
/// Value of `content-type`.
pub const PROTOBUF_CONTENT_TYPE: &str = "application/protobuf";
/// `ce_source` when neither the caller nor the producer sets one.
pub const DEFAULT_SOURCE: &str = "contracts";

/// Dead-letter header: why the record was dead-lettered ([`DeadLetterReason`]).
pub const DLQ_REASON: &str = "contracts_dlq_reason";
/// Dead-letter header: a one-line human-readable error.
pub const DLQ_ERROR: &str = "contracts_dlq_error";
/// Dead-letter header: the original topic.
pub const DLQ_TOPIC: &str = "contracts_dlq_topic";
/// Dead-letter header: the original partition, decimal.
pub const DLQ_PARTITION: &str = "contracts_dlq_partition";
/// Dead-letter header: the original offset, decimal.
pub const DLQ_OFFSET: &str = "contracts_dlq_offset";
/// Dead-letter header: the consumer group that gave up on the record.
pub const DLQ_GROUP: &str = "contracts_dlq_group";

/// The prefix shared by every dead-letter header.
pub const DLQ_HEADER_PREFIX: &str = "contracts_dlq_";

/// The suffix that names a topic's dead-letter topic.
pub const DLQ_SUFFIX: &str = ".dlq";

/// The CloudEvents headers of one record, in wire order.
pub(crate) fn cloud_event_headers(type_name: &str, source: &str, id: String, time: SystemTime) -> Vec<Header> {
    vec![
        Header::new(CE_SPECVERSION, SPEC_VERSION),
        Header::new(CE_ID, id),
        Header::new(CE_SOURCE, source),
        Header::new(CE_TYPE, type_name),
        Header::new(CE_TIME, format_time(time)),
        Header::new(CONTENT_TYPE, PROTOBUF_CONTENT_TYPE),
    ]
}

/// A new `ce_id`: `<32 hex>-<n>`, a random prefix per process plus a counter.
pub fn new_id() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(random_prefix);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
    format!("{prefix}-{n}")
}

/// 128 random bits as 32 hex digits. Uniqueness is all an id needs, so std's
/// `RandomState` (SipHash keyed from the OS's random source) is enough and
/// spares the codec a dependency.
fn random_prefix() -> String {
    let salt = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos() as u64)
        ^ u64::from(std::process::id());
    let mut prefix = String::with_capacity(32);
    for half in 0..2_u64 {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(salt.wrapping_add(half));
        write!(prefix, "{:016x}", hasher.finish()).expect("writing to a String cannot fail");
    }
    prefix
}

/// RFC 3339 in UTC with milliseconds, e.g. `2026-11-25T00:48:20.123Z`.
pub fn format_time(time: SystemTime) -> String {
    let millis: i64 = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_millis() as i64,
        Err(before) => -(before.duration().as_millis() as i64),
    };
    let days = millis.div_euclid(86_400_000);
    let millis_of_day = millis.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (hours, rest) = (millis_of_day / 3_600_000, millis_of_day % 3_600_000);
    let (minutes, rest) = (rest / 60_000, rest % 60_000);
    let (seconds, millis) = (rest / 1000, rest % 1000);
    format!("{year:04}-{month:02}-{day:02}T{hours:02}:{minutes:02}:{seconds:02}.{millis:03}Z")
}

/// Gregorian (year, month, day) of a count of days since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Why a consumer dead-lettered a record (the `contracts_dlq_reason` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeadLetterReason {
    /// `ce_type` missing or not the topic's message type.
    WrongType,
    /// The value did not parse as the topic's message type.
    DecodeError,
    /// The handler still failed after its retries.
    HandlerError,
}

impl DeadLetterReason {
    /// The header value: `wrong-type`, `decode-error` or `handler-error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WrongType => "wrong-type",
            Self::DecodeError => "decode-error",
            Self::HandlerError => "handler-error",
        }
    }
}

impl std::fmt::Display for DeadLetterReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a dead-lettered record came from and why it was given up on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter<'a> {
    pub reason: DeadLetterReason,
    /// Any error text; [`DeadLetter::headers`] makes it one line.
    pub error: &'a str,
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub group: &'a str,
}

impl DeadLetter<'_> {
    /// The dead-letter record's headers: the original ones (less any
    /// `contracts_dlq_*` left from an earlier dead-lettering, so each appears
    /// once), then the six `contracts_dlq_*` headers.
    pub fn headers<'h>(&self, original: impl IntoIterator<Item = (&'h str, &'h [u8])>) -> Vec<Header> {
        let mut headers: Vec<Header> = original
            .into_iter()
            .filter(|(key, _)| !key.starts_with(DLQ_HEADER_PREFIX))
            .map(|(key, value)| Header::new(key, value))
            .collect();
        headers.extend([
            Header::new(DLQ_REASON, self.reason.as_str()),
            Header::new(DLQ_ERROR, one_line(self.error)),
            Header::new(DLQ_TOPIC, self.topic),
            Header::new(DLQ_PARTITION, self.partition.to_string()),
            Header::new(DLQ_OFFSET, self.offset.to_string()),
            Header::new(DLQ_GROUP, self.group),
        ]);
        headers
    }
}

/// Collapses runs of whitespace (newlines included) into single spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn time_is_rfc3339_utc_with_millis() {
        let time = UNIX_EPOCH + Duration::from_millis(1_795_567_700_123);
        assert_eq!(format_time(time), "2026-11-25T00:48:20.123Z");
        assert_eq!(format_time(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap_day = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(format_time(leap_day), "2000-02-29T00:00:00.000Z");
        let before_epoch = UNIX_EPOCH - Duration::from_millis(1);
        assert_eq!(format_time(before_epoch), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn ids_share_a_random_prefix_and_count_up() {
        let first = new_id();
        let second = new_id();
        let (prefix, n1) = first.split_once('-').unwrap();
        let (prefix2, n2) = second.split_once('-').unwrap();
        assert_eq!(prefix, prefix2);
        assert_eq!(prefix.len(), 32);
        assert!(prefix.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert!(n2.parse::<u64>().unwrap() > n1.parse::<u64>().unwrap());
    }

    #[test]
    fn reasons_have_the_documented_names() {
        assert_eq!(DeadLetterReason::WrongType.as_str(), "wrong-type");
        assert_eq!(DeadLetterReason::DecodeError.as_str(), "decode-error");
        assert_eq!(DeadLetterReason::HandlerError.to_string(), "handler-error");
    }

    #[test]
    fn dead_letter_headers_keep_the_original_and_add_six() {
        let dead_letter = DeadLetter {
            reason: DeadLetterReason::HandlerError,
            error: "boom:\n  database\tdown",
            topic: "audit.events.v1",
            partition: 3,
            offset: 42,
            group: "svc-search",
        };
        let original: Vec<(&str, &[u8])> =
            vec![(CE_TYPE, b"audit.v1.AuditEvent"), (DLQ_REASON, b"decode-error"), ("traceparent", b"00-abc")];
        let headers = dead_letter.headers(original);
        let pairs: Vec<(&str, &[u8])> = headers.iter().map(|h| (h.key.as_str(), h.value.as_slice())).collect();
        assert_eq!(
            pairs,
            vec![
                (CE_TYPE, b"audit.v1.AuditEvent".as_slice()),
                ("traceparent", b"00-abc"),
                (DLQ_REASON, b"handler-error"),
                (DLQ_ERROR, b"boom: database down"),
                (DLQ_TOPIC, b"audit.events.v1"),
                (DLQ_PARTITION, b"3"),
                (DLQ_OFFSET, b"42"),
                (DLQ_GROUP, b"svc-search"),
            ]
        );
    }
}
