//! What a client knows about itself, kept as it happens so that health checks
//! and metric scrapes read it without calling into the (possibly busy) client.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use rdkafka::error::RDKafkaErrorCode;

/// The offsets of one assigned partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PartitionState {
    /// The group's committed offset, -1 until known.
    pub committed: i64,
    /// When `committed` last changed (or the partition was assigned).
    pub committed_moved: Instant,
    /// The partition's end (high watermark, or last stable offset), -1 until known.
    pub end: i64,
    /// The offset after the last record handed to the consumer, -1 until known.
    pub position: i64,
}

impl PartitionState {
    fn new(now: Instant) -> Self {
        Self { committed: -1, committed_moved: now, end: -1, position: -1 }
    }

    /// Records between the consumer's position (else the committed offset) and the end.
    pub fn lag(&self) -> Option<i64> {
        let position = self.position.max(self.committed);
        (self.end >= 0 && position >= 0).then(|| (self.end - position).max(0))
    }
}

/// An error librdkafka reported on the client's error callback.
#[derive(Debug, Clone)]
pub(crate) struct ClientError {
    pub at: Instant,
    pub code: Option<RDKafkaErrorCode>,
    pub reason: String,
}

#[derive(Debug)]
struct Inner {
    last_answer: Option<Instant>,
    last_error: Option<ClientError>,
    /// The last error other than "all brokers are down", which says why they are.
    last_cause: Option<ClientError>,
    /// The last error that is a definitive no: all brokers down, failed
    /// authentication or TLS (later retries' errors do not hide it).
    last_refusal: Option<ClientError>,
    /// Per broker (as librdkafka names it, `host:port/id`): its last failed connection.
    broker_failures: BTreeMap<String, Instant>,
    partitions: BTreeMap<(String, i32), PartitionState>,
    in_flight_since: Option<Instant>,
}

/// One client's state, shared (behind an `Arc`) by the client, its librdkafka
/// context and any health server. Every method only takes a short lock.
#[derive(Debug)]
pub(crate) struct ClientState {
    #[cfg_attr(not(feature = "health"), allow(dead_code))] // read by health checks
    pub started: Instant,
    inner: Mutex<Inner>,
}

impl Default for ClientState {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            inner: Mutex::new(Inner {
                last_answer: None,
                last_error: None,
                last_cause: None,
                last_refusal: None,
                broker_failures: BTreeMap::new(),
                partitions: BTreeMap::new(),
                in_flight_since: None,
            }),
        }
    }
}

impl ClientState {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A broker answered (a fetch, metadata, an acknowledgement, a probe).
    pub fn answered(&self) {
        self.lock().last_answer = Some(Instant::now());
    }

    #[cfg_attr(not(feature = "health"), allow(dead_code))]
    pub fn last_answer(&self) -> Option<Instant> {
        self.lock().last_answer
    }

    pub fn set_error(&self, code: Option<RDKafkaErrorCode>, reason: &str) {
        let error = ClientError { at: Instant::now(), code, reason: reason.to_owned() };
        let mut inner = self.lock();
        if code != Some(RDKafkaErrorCode::AllBrokersDown) {
            inner.last_cause = Some(error.clone());
        }
        if matches!(
            code,
            Some(RDKafkaErrorCode::AllBrokersDown | RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SSL)
        ) {
            inner.last_refusal = Some(error.clone());
        }
        if matches!(code, Some(RDKafkaErrorCode::BrokerTransportFailure | RDKafkaErrorCode::Resolve)) {
            // librdkafka's reasons start with the broker's name: "127.0.0.1:9092/bootstrap: Connect to ...".
            let broker = reason.split(": ").next().unwrap_or(reason).to_owned();
            inner.broker_failures.insert(broker, error.at);
        }
        inner.last_error = Some(error);
    }

    /// How many brokers failed a connection since `since`.
    pub fn failed_brokers_since(&self, since: Instant) -> usize {
        self.lock().broker_failures.values().filter(|at| **at >= since).count()
    }

    pub fn last_refusal(&self) -> Option<ClientError> {
        self.lock().last_refusal.clone()
    }

    pub fn last_cause(&self) -> Option<ClientError> {
        self.lock().last_cause.clone()
    }

    pub fn last_error(&self) -> Option<ClientError> {
        self.lock().last_error.clone()
    }

    pub fn assign(&self, topic: &str, partitions: impl IntoIterator<Item = i32>) {
        let now = Instant::now();
        let mut inner = self.lock();
        for partition in partitions {
            inner.partitions.entry((topic.to_owned(), partition)).or_insert_with(|| PartitionState::new(now));
        }
    }

    /// Forgets revoked partitions; returns those that were known.
    pub fn revoke(&self, partitions: &[(String, i32)]) -> Vec<(String, i32)> {
        let mut inner = self.lock();
        partitions.iter().filter(|key| inner.partitions.remove(*key).is_some()).cloned().collect()
    }

    pub fn forget_all(&self) -> Vec<(String, i32)> {
        std::mem::take(&mut self.lock().partitions).into_keys().collect()
    }

    /// Updates one assigned partition (unassigned ones are left alone: stats
    /// list every partition librdkafka knows of).
    pub fn update(
        &self,
        topic: &str,
        partition: i32,
        change: impl FnOnce(&mut PartitionState),
    ) -> Option<PartitionState> {
        let mut inner = self.lock();
        let state = inner.partitions.get_mut(&(topic.to_owned(), partition))?;
        let committed = state.committed;
        change(state);
        if state.committed != committed {
            state.committed_moved = Instant::now();
        }
        Some(*state)
    }

    #[cfg_attr(not(feature = "health"), allow(dead_code))]
    pub fn partitions(&self) -> Vec<((String, i32), PartitionState)> {
        self.lock().partitions.iter().map(|(key, state)| (key.clone(), *state)).collect()
    }

    pub fn handler_started(&self) {
        self.lock().in_flight_since = Some(Instant::now());
    }

    pub fn handler_ended(&self) {
        self.lock().in_flight_since = None;
    }

    #[cfg_attr(not(feature = "health"), allow(dead_code))]
    pub fn in_flight_since(&self) -> Option<Instant> {
        self.lock().in_flight_since
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_the_distance_from_the_position_to_the_end() {
        let state = ClientState::default();
        state.assign("t", [0, 1]);
        assert_eq!(state.update("t", 0, |p| p.end = 10).and_then(|p| p.lag()), None);
        assert_eq!(state.update("t", 0, |p| p.committed = 4).and_then(|p| p.lag()), Some(6));
        assert_eq!(state.update("t", 0, |p| p.position = 9).and_then(|p| p.lag()), Some(1));
        assert!(state.update("t", 7, |p| p.end = 1).is_none(), "not assigned");
        assert_eq!(state.revoke(&[("t".into(), 1), ("t".into(), 5)]), vec![("t".to_owned(), 1)]);
        assert_eq!(state.partitions().len(), 1);
    }

    #[test]
    fn a_commit_that_moves_resets_the_clock() {
        let state = ClientState::default();
        state.assign("t", [0]);
        let before = state.partitions()[0].1.committed_moved;
        std::thread::sleep(std::time::Duration::from_millis(5));
        let same = state.update("t", 0, |p| p.end = 3).unwrap();
        assert_eq!(same.committed_moved, before);
        let moved = state.update("t", 0, |p| p.committed = 3).unwrap();
        assert!(moved.committed_moved > before);
    }
}
