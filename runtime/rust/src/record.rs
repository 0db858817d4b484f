//! The decoded record handed to handlers: the message plus where it came from.

use std::time::SystemTime;

use crate::envelope;
use crate::Header;

/// A decoded record, as a consumer hands it to a handler: the topic's message
/// plus the record's metadata (`docs/runtime.md`, "Record" and "Metadata").
#[derive(Debug, Clone, PartialEq)]
pub struct Record<M> {
    /// The decoded message.
    pub message: M,
    pub topic: &'static str,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    /// All headers as read (a null header value reads as empty).
    pub headers: Vec<Header>,
    /// Kafka's record timestamp.
    pub timestamp: Option<SystemTime>,
    /// `ce_id`.
    pub id: Option<String>,
    /// `ce_source`.
    pub source: Option<String>,
    /// `ce_time`, parsed.
    pub time: Option<SystemTime>,
}

impl<M> Record<M> {
    /// A record of `message` with the metadata taken from `headers` (`ce_id`,
    /// `ce_source`, `ce_time`) and the other arguments.
    pub fn new(
        message: M,
        topic: &'static str,
        partition: i32,
        offset: i64,
        key: Option<Vec<u8>>,
        headers: Vec<Header>,
        timestamp: Option<SystemTime>,
    ) -> Self {
        let find = |name: &str| headers.iter().find(|header| header.key == name).map(|header| header.value.as_slice());
        let text = |name: &str| find(name).map(|value| String::from_utf8_lossy(value).into_owned());
        let id = text(envelope::CE_ID);
        let source = text(envelope::CE_SOURCE);
        let time = find(envelope::CE_TIME).and_then(envelope::parse_time);
        Self { message, topic, partition, offset, key, headers, timestamp, id, source, time }
    }

    /// The value of the first header named `key`.
    pub fn header(&self, key: &str) -> Option<&[u8]> {
        self.headers.iter().find(|header| header.key == key).map(|header| header.value.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn metadata_comes_from_the_cloud_event_headers() {
        let headers = vec![
            Header::new(envelope::CE_ID, "id-1"),
            Header::new(envelope::CE_SOURCE, "svc-audit"),
            Header::new(envelope::CE_TIME, "2026-11-25T00:48:20.123Z"),
            Header::new("traceparent", "00-abc"),
        ];
        let record = Record::new(7_u8, "audit.events.v1", 2, 40, Some(b"eu-1".to_vec()), headers, None);
        assert_eq!(record.id.as_deref(), Some("id-1"));
        assert_eq!(record.source.as_deref(), Some("svc-audit"));
        assert_eq!(record.time, Some(UNIX_EPOCH + Duration::from_millis(1_795_567_700_123)));
        assert_eq!(record.header("traceparent"), Some(b"00-abc".as_slice()));
        assert_eq!((record.message, record.partition, record.offset), (7, 2, 40));
    }

    #[test]
    fn missing_headers_are_none() {
        let record = Record::new((), "t", 0, 0, None, vec![Header::new(envelope::CE_TIME, "soon")], None);
        assert_eq!((record.id, record.source, record.time), (None, None, None));
    }
}
