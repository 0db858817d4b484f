//! The record envelope of `docs/envelope.md`: CloudEvents headers in binary
//! content mode, and the headers a dead-lettered record carries.

use std::collections::hash_map::RandomState;
use std::fmt::{self, Write as _};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::validation::{violations_json, Violation};
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

/// How many headers [`cloud_event_headers`] writes.
pub(crate) const CLOUD_EVENT_HEADERS: usize = 6;

/// What the CloudEvents headers of one record are made of: the message's
/// type name, the source, the caller's id (else a new one) and the time.
pub(crate) type CloudEvent<'a> = (&'a str, &'a str, Option<&'a str>, SystemTime);

/// The CloudEvents headers of one record, in wire order.
pub(crate) fn cloud_event_headers(event: CloudEvent<'_>) -> Vec<Header> {
    fold_cloud_event_headers(event, Vec::with_capacity(CLOUD_EVENT_HEADERS), |mut headers, key, value| {
        headers.push(Header::new(key, value));
        headers
    })
}

/// Hands the CloudEvents headers of one record, in wire order, to `add`
/// with values that borrow from the stack: a producer copies them straight
/// into its client's headers without an allocation per header.
pub(crate) fn fold_cloud_event_headers<A>(
    (type_name, source, id, time): CloudEvent<'_>,
    headers: A,
    mut add: impl FnMut(A, &'static str, &[u8]) -> A,
) -> A {
    let mut new_id = StackText::<64>::new();
    let id = match id {
        Some(id) => id,
        None => {
            write_new_id(&mut new_id);
            new_id.as_str()
        }
    };
    let mut formatted_time = StackText::<40>::new();
    write_time(&mut formatted_time, time);
    let headers = add(headers, CE_SPECVERSION, SPEC_VERSION.as_bytes());
    let headers = add(headers, CE_ID, id.as_bytes());
    let headers = add(headers, CE_SOURCE, source.as_bytes());
    let headers = add(headers, CE_TYPE, type_name.as_bytes());
    let headers = add(headers, CE_TIME, formatted_time.as_str().as_bytes());
    add(headers, CONTENT_TYPE, PROTOBUF_CONTENT_TYPE.as_bytes())
}

/// Text formatted on the stack, `N` bytes at most (ids and times fit).
struct StackText<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> StackText<N> {
    fn new() -> Self {
        Self { bytes: [0; N], len: 0 }
    }

    fn as_str(&self) -> &str {
        // Only whole `str`s are ever written.
        std::str::from_utf8(&self.bytes[..self.len]).expect("StackText holds UTF-8")
    }
}

impl<const N: usize> fmt::Write for StackText<N> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let end = self.len + text.len();
        self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?.copy_from_slice(text.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// A new `ce_id`: `<32 hex>-<n>`, a random prefix per process plus a counter.
pub fn new_id() -> String {
    let mut id = String::with_capacity(53);
    write_new_id(&mut id);
    id
}

fn write_new_id(out: &mut impl fmt::Write) {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(random_prefix);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
    // 32 hex digits, '-' and at most 20 digits always fit.
    write!(out, "{prefix}-{n}").expect("an id fits its buffer");
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
    let mut text = String::with_capacity(24);
    write_time(&mut text, time);
    text
}

fn write_time(out: &mut impl fmt::Write, time: SystemTime) {
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
    // At most 40 bytes even for the years an i64 of milliseconds reaches.
    write!(out, "{year:04}-{month:02}-{day:02}T{hours:02}:{minutes:02}:{seconds:02}.{millis:03}Z")
        .expect("a time fits its buffer");
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

/// Dead-letter header: handler calls made for the record (`0` for `decode` / `wrong-type`).
pub const DLQ_ATTEMPTS: &str = "contracts_dlq_attempts";
/// Dead-letter header: when the record first failed (kept across replays).
pub const DLQ_FIRST_FAILURE_TIME: &str = "contracts_dlq_first_failure_time";
/// Dead-letter header: when the record last failed.
pub const DLQ_LAST_FAILURE_TIME: &str = "contracts_dlq_last_failure_time";
/// Dead-letter header, reason `validation` only: `[{"rule_id": ..., "field": ...}]`.
pub const DLQ_VIOLATIONS: &str = "contracts_dlq_violations";

/// The longest `contracts_dlq_error`, in characters.
pub const DLQ_ERROR_MAX_CHARS: usize = 1000;

/// Why a consumer dead-lettered a record (the `contracts_dlq_reason` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeadLetterReason {
    /// The value did not parse as the topic's message type.
    Decode,
    /// `ce_type` missing or not the topic's message type.
    WrongType,
    /// The message breaks the contract's field rules.
    Validation,
    /// The handler still failed after its attempts.
    Handler,
}

impl DeadLetterReason {
    /// The header value: `decode`, `wrong-type`, `validation` or `handler`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Decode => "decode",
            Self::WrongType => "wrong-type",
            Self::Validation => "validation",
            Self::Handler => "handler",
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
    /// Any error text; [`DeadLetter::headers`] makes it one line of at most 1000 characters.
    pub error: &'a str,
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub group: &'a str,
    /// Handler calls made for the record (0 when it never reached the handler).
    pub attempts: u32,
    pub first_failure: SystemTime,
    pub last_failure: SystemTime,
    /// The broken rules of a record dead-lettered for `validation`, written
    /// as `contracts_dlq_violations`; `None` for the other reasons.
    pub violations: Option<&'a [Violation]>,
}

impl DeadLetter<'_> {
    /// The dead-letter record's headers: the original ones less any
    /// `contracts_dlq_*` left from an earlier dead-lettering, then the nine
    /// (ten with violations)
    /// `contracts_dlq_*` headers. An earlier `contracts_dlq_first_failure_time`
    /// keeps its value, so a replayed record's history stays readable.
    pub fn headers<'h>(&self, original: impl IntoIterator<Item = (&'h str, &'h [u8])>) -> Vec<Header> {
        let mut first_failure = None;
        let mut headers = Vec::new();
        for (key, value) in original {
            if key == DLQ_FIRST_FAILURE_TIME {
                first_failure.get_or_insert_with(|| value.to_vec());
            } else if !key.starts_with(DLQ_HEADER_PREFIX) {
                headers.push(Header::new(key, value));
            }
        }
        headers.extend(self.own_headers(first_failure));
        headers
    }

    /// The nine `contracts_dlq_*` headers, and `contracts_dlq_violations`
    /// when there are violations; `first_failure` is an earlier
    /// `contracts_dlq_first_failure_time` to keep.
    pub fn own_headers(&self, first_failure: Option<Vec<u8>>) -> Vec<Header> {
        let mut headers = vec![
            Header::new(DLQ_REASON, self.reason.as_str()),
            Header::new(DLQ_ERROR, error_line(self.error)),
            Header::new(DLQ_TOPIC, self.topic),
            Header::new(DLQ_PARTITION, self.partition.to_string()),
            Header::new(DLQ_OFFSET, self.offset.to_string()),
            Header::new(DLQ_GROUP, self.group),
            Header::new(DLQ_ATTEMPTS, self.attempts.to_string()),
            Header::new(
                DLQ_FIRST_FAILURE_TIME,
                first_failure.unwrap_or_else(|| format_time(self.first_failure).into_bytes()),
            ),
            Header::new(DLQ_LAST_FAILURE_TIME, format_time(self.last_failure)),
        ];
        if let Some(violations) = self.violations {
            headers.push(Header::new(DLQ_VIOLATIONS, violations_json(violations)));
        }
        headers
    }
}

/// Runs of whitespace (newlines included) collapsed into single spaces, cut
/// at [`DLQ_ERROR_MAX_CHARS`] characters.
pub fn error_line(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(DLQ_ERROR_MAX_CHARS) {
        Some((cut, _)) => line[..cut].to_owned(),
        None => line,
    }
}

/// Parses an RFC 3339 time such as `ce_time` (`2026-11-25T00:48:20.123Z`, any
/// fraction, `Z` or a `+hh:mm` offset); `None` if it is not one.
pub fn parse_time(text: &[u8]) -> Option<SystemTime> {
    let text = std::str::from_utf8(text).ok()?;
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes().all(|b| b.is_ascii_digit()).then(|| part.parse().ok())?
    };
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    if bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hours, minutes, seconds) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hours > 23 || minutes > 59 || seconds > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos: i64 = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        for (index, digit) in fraction.bytes().take(9).take(digits).enumerate() {
            nanos += i64::from(digit - b'0') * 10_i64.pow(8 - index as u32);
        }
        rest = &fraction[digits..];
    }
    let offset_seconds = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hh: i64 = rest[1..3].parse().ok()?;
            let mm: i64 = rest[4..6].parse().ok()?;
            sign * (hh * 3600 + mm * 60)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hours * 3600 + minutes * 60 + seconds - offset_seconds;
    let since_epoch = std::time::Duration::new(seconds.unsigned_abs(), 0);
    let whole =
        if seconds >= 0 { UNIX_EPOCH.checked_add(since_epoch)? } else { UNIX_EPOCH.checked_sub(since_epoch)? };
    whole.checked_add(std::time::Duration::from_nanos(nanos as u64))
}

/// Days since 1970-01-01 of a Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_index = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
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
        assert_eq!(DeadLetterReason::Decode.as_str(), "decode");
        assert_eq!(DeadLetterReason::Validation.as_str(), "validation");
        assert_eq!(DeadLetterReason::Handler.to_string(), "handler");
    }

    fn dead_letter(error: &str) -> DeadLetter<'_> {
        DeadLetter {
            reason: DeadLetterReason::Handler,
            error,
            topic: "audit.events.v1",
            partition: 3,
            offset: 42,
            group: "svc-search",
            attempts: 3,
            first_failure: UNIX_EPOCH + Duration::from_millis(1_795_567_700_123),
            last_failure: UNIX_EPOCH + Duration::from_millis(1_795_567_701_456),
            violations: None,
        }
    }

    #[test]
    fn a_validation_dead_letter_lists_its_violations() {
        let violations = [Violation::new("string.email", "email"), Violation::new("signup.ends_after_starts", "")];
        let letter = DeadLetter {
            reason: DeadLetterReason::Validation,
            attempts: 0,
            violations: Some(&violations),
            ..dead_letter("invalid")
        };
        let headers = letter.own_headers(None);
        assert_eq!(headers.len(), 10);
        assert_eq!(headers[9].key, DLQ_VIOLATIONS);
        assert_eq!(
            String::from_utf8_lossy(&headers[9].value),
            r#"[{"rule_id":"string.email","field":"email"},{"rule_id":"signup.ends_after_starts","field":""}]"#
        );
    }

    #[test]
    fn dead_letter_headers_keep_the_original_and_add_nine() {
        let original: Vec<(&str, &[u8])> = vec![(CE_TYPE, b"audit.v1.AuditEvent"), ("traceparent", b"00-abc")];
        let headers = dead_letter("boom:\n  database\tdown").headers(original);
        let pairs: Vec<(&str, &[u8])> = headers.iter().map(|h| (h.key.as_str(), h.value.as_slice())).collect();
        assert_eq!(
            pairs,
            vec![
                (CE_TYPE, b"audit.v1.AuditEvent".as_slice()),
                ("traceparent", b"00-abc"),
                (DLQ_REASON, b"handler"),
                (DLQ_ERROR, b"boom: database down"),
                (DLQ_TOPIC, b"audit.events.v1"),
                (DLQ_PARTITION, b"3"),
                (DLQ_OFFSET, b"42"),
                (DLQ_GROUP, b"svc-search"),
                (DLQ_ATTEMPTS, b"3"),
                (DLQ_FIRST_FAILURE_TIME, b"2026-11-25T00:48:20.123Z"),
                (DLQ_LAST_FAILURE_TIME, b"2026-11-25T00:48:21.456Z"),
            ]
        );
    }

    #[test]
    fn a_replayed_record_gets_a_new_set_but_keeps_its_first_failure_time() {
        let original: Vec<(&str, &[u8])> = vec![
            (CE_TYPE, b"audit.v1.AuditEvent"),
            (DLQ_REASON, b"decode"),
            (DLQ_FIRST_FAILURE_TIME, b"2020-01-01T00:00:00.000Z"),
            (DLQ_ATTEMPTS, b"0"),
            ("contracts_dlq_something_older", b"x"),
        ];
        let headers = dead_letter("again").headers(original);
        let keys: Vec<&str> = headers.iter().map(|h| h.key.as_str()).collect();
        assert_eq!(keys.iter().filter(|key| key.starts_with(DLQ_HEADER_PREFIX)).count(), 9, "{keys:?}");
        let value = |key: &str| headers.iter().find(|h| h.key == key).map(|h| h.value.as_slice());
        assert_eq!(value(DLQ_REASON), Some(b"handler".as_slice()));
        assert_eq!(value(DLQ_ATTEMPTS), Some(b"3".as_slice()));
        assert_eq!(value(DLQ_FIRST_FAILURE_TIME), Some(b"2020-01-01T00:00:00.000Z".as_slice()));
        assert_eq!(value(DLQ_LAST_FAILURE_TIME), Some(b"2026-11-25T00:48:21.456Z".as_slice()));
    }

    #[test]
    fn the_error_is_one_line_of_at_most_1000_characters() {
        let long = "é\n".repeat(1500);
        let line = error_line(&long);
        assert_eq!(line.chars().count(), 1000);
        assert!(!line.contains('\n'));
        assert_eq!(error_line("short"), "short");
    }

    #[test]
    fn times_parse_back() {
        let time = UNIX_EPOCH + Duration::from_millis(1_795_567_700_123);
        assert_eq!(parse_time(format_time(time).as_bytes()), Some(time));
        assert_eq!(parse_time(b"1970-01-01T00:00:00Z"), Some(UNIX_EPOCH));
        assert_eq!(
            parse_time(b"2000-02-29T02:00:00.5+02:00"),
            Some(UNIX_EPOCH + Duration::from_millis(951_782_400_500))
        );
        assert_eq!(parse_time(b"1969-12-31T23:59:59.999Z"), Some(UNIX_EPOCH - Duration::from_millis(1)));
        for bad in [&b""[..], b"yesterday", b"2026-13-01T00:00:00Z", b"2026-11-25T00:48:20", b"2026-11-25T00:48:20.Z"] {
            assert_eq!(parse_time(bad), None, "{bad:?}");
        }
    }
}
