//! What the producer and the consumer share: the librdkafka context that keeps
//! the client's state (errors, broker answers, partition offsets), and the
//! bounded-time checks made when a client starts.

use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use rdkafka::client::{Client, ClientContext};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message as _};
use rdkafka::producer::ProducerContext;
use rdkafka::statistics::Statistics;
use rdkafka::{Offset, TopicPartitionList};

use super::observe::{Metrics, SendSpan, TopicSeries};
use super::state::ClientState;
use super::Error;

/// Where a produced record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Delivery {
    pub partition: i32,
    pub offset: i64,
}

pub(crate) type DeliveryOutcome = Result<Delivery, KafkaError>;

/// A topic a producer writes, as each of its records refers to it.
#[derive(Debug)]
pub(crate) struct ProducerTopic {
    pub name: Box<str>,
    pub series: TopicSeries,
}

/// A producer's records from `send` to their delivery reports, one slot each
/// in one table: the runtime allocates nothing per record. (An allocation
/// per record that lives until its sender waited, while librdkafka allocates
/// and frees its copy of every record around it, fragments the heap: that
/// cost more than everything else the runtime does per record.) The sender
/// and the thread that serves delivery reports meet at one short lock.
#[derive(Default)]
pub(crate) struct InFlightTable {
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    slots: Vec<Slot>,
    free: Vec<usize>,
    live: usize,
    /// The client is gone: what is still pending gets no report.
    closed: bool,
}

enum Slot {
    Free,
    Pending { sent: Instant, topic: Arc<ProducerTopic>, span: SendSpan, waiter: Option<Thread>, abandoned: bool },
    Done { outcome: DeliveryOutcome, topic: Arc<ProducerTopic> },
}

/// Slots a table keeps once every record is through (a burst of pending
/// records does not keep its memory).
const SLOTS_KEPT: usize = 1024;

impl InFlightTable {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A slot for a record about to be enqueued; its index is the record's
    /// delivery opaque.
    pub fn start(&self, topic: Arc<ProducerTopic>, span: SendSpan) -> usize {
        let slot = Slot::Pending { sent: Instant::now(), topic, span, waiter: None, abandoned: false };
        let mut table = self.lock();
        table.live += 1;
        match table.free.pop() {
            Some(index) => {
                table.slots[index] = slot;
                index
            }
            None => {
                table.slots.push(slot);
                table.slots.len() - 1
            }
        }
    }

    /// Counts the outcome in the topic's series, ends the span and hands the
    /// outcome to the sender, waking it if it waits.
    pub fn complete(&self, index: usize, outcome: DeliveryOutcome) {
        let span_outcome = match &outcome {
            Ok(delivery) => Ok((delivery.partition, delivery.offset)),
            Err(error) => Err(error.to_string()),
        };
        let (span, waiter) = {
            let mut table = self.lock();
            let Some(Slot::Pending { sent, topic, span, waiter, abandoned }) =
                table.slots.get_mut(index).map(|slot| std::mem::replace(slot, Slot::Free))
            else {
                return; // reported twice: a librdkafka bug, and nobody to tell
            };
            match &outcome {
                Ok(_) => topic.series.produced(sent.elapsed()),
                Err(_) => topic.series.produce_failed(),
            }
            if abandoned {
                table.release(index);
            } else {
                table.slots[index] = Slot::Done { outcome, topic };
            }
            (span, waiter)
        };
        span.end(span_outcome);
        if let Some(waiter) = waiter {
            waiter.unpark();
        }
    }

    /// Blocks until the record's outcome is in; returns it with the topic.
    pub fn wait(&self, index: usize) -> (DeliveryOutcome, Arc<ProducerTopic>) {
        let mut table = self.lock();
        loop {
            let closed = table.closed;
            match &mut table.slots[index] {
                Slot::Pending { waiter, .. } if !closed => *waiter = Some(thread::current()),
                slot => {
                    let taken = std::mem::replace(slot, Slot::Free);
                    table.release(index);
                    return match taken {
                        Slot::Done { outcome, topic } => (outcome, topic),
                        // No report will come: say so rather than pretend it was delivered.
                        Slot::Pending { topic, .. } => (Err(KafkaError::Canceled), topic),
                        Slot::Free => unreachable!("a pending delivery's slot is released only by its wait"),
                    };
                }
            }
            drop(table);
            thread::park();
            table = self.lock();
        }
    }

    /// The sender dropped its pending delivery without waiting.
    pub fn abandon(&self, index: usize) {
        let mut table = self.lock();
        let closed = table.closed;
        match &mut table.slots[index] {
            Slot::Pending { abandoned, .. } if !closed => *abandoned = true,
            _ => {
                table.slots[index] = Slot::Free;
                table.release(index);
            }
        }
    }

    /// The client is gone: wakes every waiter, whose record gets no report.
    fn close(&self) {
        let mut table = self.lock();
        table.closed = true;
        for slot in &mut table.slots {
            if let Slot::Pending { waiter: Some(waiter), .. } = slot {
                waiter.unpark();
            }
        }
    }
}

impl Table {
    fn release(&mut self, index: usize) {
        self.live -= 1;
        if self.live == 0 && self.slots.len() > SLOTS_KEPT {
            self.slots.clear();
            self.slots.shrink_to(SLOTS_KEPT);
            self.free.clear();
            self.free.shrink_to(SLOTS_KEPT);
        } else {
            self.free.push(index);
        }
    }
}

/// The librdkafka context of every client.
pub(crate) struct Context {
    pub state: Arc<ClientState>,
    pub metrics: Metrics,
    /// A producer's records on their way (a consumer's dead letters go
    /// through a producer of its own).
    pub in_flight: Arc<InFlightTable>,
}

impl Context {
    pub fn new(metrics: Metrics) -> Self {
        Self { state: Arc::new(ClientState::default()), metrics, in_flight: Arc::default() }
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        self.in_flight.close();
    }
}

impl ClientContext for Context {
    // librdkafka's own lines (a refused connection every second...) go to the
    // `log` crate at debug level only: failures reach the caller once, as errors.
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, facility: &str, message: &str) {
        log::debug!(target: "librdkafka", "{level:?} {facility}: {message}");
    }

    fn error(&self, error: KafkaError, reason: &str) {
        log::debug!(target: "contracts_runtime", "Kafka client error: {error}: {reason}");
        self.state.set_error(error.rdkafka_error_code(), reason);
    }

    fn stats(&self, statistics: Statistics) {
        if statistics.brokers.values().any(|broker| broker.nodeid >= 0 && broker.state == "UP") {
            self.state.answered();
        }
        for (topic, topic_stats) in &statistics.topics {
            for partition in topic_stats.partitions.values() {
                let end = if partition.ls_offset >= 0 { partition.ls_offset } else { partition.hi_offset };
                let updated = self.state.update(topic, partition.partition, |state| {
                    if end >= 0 {
                        state.end = end;
                    }
                    if partition.committed_offset >= 0 {
                        state.committed = partition.committed_offset;
                    }
                    state.position = state.position.max(partition.app_offset);
                });
                if let Some(lag) = updated.and_then(|state| state.lag()) {
                    self.metrics.set_consumer_lag(topic, partition.partition, lag);
                }
            }
        }
    }
}

impl ConsumerContext for Context {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(_) = rebalance {
            // What was handled is committed before the partitions go to another member.
            match consumer.commit_consumer_state(CommitMode::Sync) {
                Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
                Err(error) => log::warn!(target: "contracts_runtime", "commit on revocation failed: {error}"),
            }
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(partitions) => {
                for element in partitions.elements() {
                    self.state.assign(element.topic(), [element.partition()]);
                }
            }
            Rebalance::Revoke(partitions) => {
                let keys: Vec<(String, i32)> =
                    partitions.elements().iter().map(|e| (e.topic().to_owned(), e.partition())).collect();
                for (topic, partition) in self.state.revoke(&keys) {
                    self.metrics.drop_consumer_lag(&topic, partition);
                }
            }
            Rebalance::Error(error) => log::warn!(target: "contracts_runtime", "rebalance failed: {error}"),
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        if result.is_err() {
            return;
        }
        for element in offsets.elements() {
            if let Offset::Offset(offset) = element.offset() {
                self.state.update(element.topic(), element.partition(), |state| state.committed = offset);
            }
        }
    }
}

impl ProducerContext for Context {
    /// The record's slot in [`Context::in_flight`].
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, slot: usize) {
        let outcome = match result {
            Ok(message) => {
                self.state.answered();
                Ok(Delivery { partition: message.partition(), offset: message.offset() })
            }
            Err((error, _)) => Err(error.clone()),
        };
        self.in_flight.complete(slot, outcome);
    }
}

/// How often a start-up check asks again, and so how soon it notices an error
/// librdkafka reported meanwhile.
const CHECK_SLICE: Duration = Duration::from_millis(100);

/// Fails unless a broker answers a metadata request within `timeout`; fails at
/// once when librdkafka reports that every broker refused the connection, the
/// credentials or the TLS handshake.
pub(crate) fn check_reachable(client: &Client<Context>, bootstrap: &str, timeout: Duration) -> Result<(), Error> {
    let started = Instant::now();
    let state = &client.context().state;
    loop {
        let left = timeout.saturating_sub(started.elapsed());
        match client.fetch_metadata(None, left.min(CHECK_SLICE)) {
            Ok(_) => {
                state.answered();
                return Ok(());
            }
            Err(error) => {
                let brokers = bootstrap.split(',').filter(|server| !server.trim().is_empty()).count();
                if let Some(refused) = refusal_since(state, started, brokers) {
                    return Err(Error::Connection { bootstrap: bootstrap.to_owned(), detail: refused });
                }
                if started.elapsed() >= timeout {
                    let detail = match state.last_error() {
                        Some(last) => format!("no broker answered within {timeout:?} ({error}; {})", last.reason),
                        None => format!("no broker answered within {timeout:?} ({error})"),
                    };
                    return Err(Error::Connection { bootstrap: bootstrap.to_owned(), detail });
                }
            }
        }
    }
}

/// The reason of a definitive refusal reported since `since`, if any: every
/// one of the `brokers` bootstrap brokers failed its connection (refused, not
/// resolved, TLS), or the brokers refused the credentials.
fn refusal_since(state: &ClientState, since: Instant, brokers: usize) -> Option<String> {
    let Some(last) = state.last_refusal().filter(|last| last.at >= since) else {
        // librdkafka reports ALL_BROKERS_DOWN only for brokers that were up once.
        let cause = state.last_cause().filter(|cause| cause.at >= since)?;
        return (state.failed_brokers_since(since) >= brokers.max(1)).then_some(cause.reason);
    };
    match last.code? {
        RDKafkaErrorCode::Authentication => Some(format!("authentication failed: {}", last.reason)),
        RDKafkaErrorCode::SSL => Some(format!("TLS failed: {}", last.reason)),
        // Reported once every bootstrap broker is down; the error before it says why.
        RDKafkaErrorCode::AllBrokersDown => Some(match state.last_cause().filter(|cause| cause.at >= since) {
            Some(cause) => format!("{} ({})", cause.reason, last.reason),
            None => last.reason,
        }),
        _ => None,
    }
}

/// Fails unless `topic` exists (and this client may see it).
pub(crate) fn check_topic(
    client: &Client<Context>,
    topic: &str,
    bootstrap: &str,
    timeout: Duration,
) -> Result<(), Error> {
    let metadata = client.fetch_metadata(Some(topic), timeout).map_err(|error| {
        let detail = match client.context().state.last_error() {
            Some(last) => format!("no metadata for {topic:?} within {timeout:?} ({error}; {})", last.reason),
            None => format!("no metadata for {topic:?} within {timeout:?} ({error})"),
        };
        Error::Connection { bootstrap: bootstrap.to_owned(), detail }
    })?;
    client.context().state.answered();
    let Some(found) = metadata.topics().iter().find(|found| found.name() == topic) else {
        return Err(Error::UnknownTopic { topic: topic.to_owned(), bootstrap: bootstrap.to_owned() });
    };
    match found.error().map(RDKafkaErrorCode::from) {
        // A topic being created or moving its leader still exists.
        None | Some(RDKafkaErrorCode::LeaderNotAvailable) => Ok(()),
        Some(RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic) => {
            Err(Error::UnknownTopic { topic: topic.to_owned(), bootstrap: bootstrap.to_owned() })
        }
        Some(code) => Err(Error::Topic { topic: topic.to_owned(), code }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::observe::start_send_untraced;

    // A unit struct without the feature `metrics`, the real series with it.
    #[allow(clippy::default_constructed_unit_structs)]
    fn topic() -> Arc<ProducerTopic> {
        Arc::new(ProducerTopic { name: "audit.events.v1".into(), series: Metrics::default().topic("audit.events.v1") })
    }

    const DELIVERED: Delivery = Delivery { partition: 2, offset: 7 };

    #[test]
    fn a_waiter_gets_the_outcome_whenever_it_comes() {
        let table = Arc::new(InFlightTable::default());
        let early = table.start(topic(), start_send_untraced());
        table.complete(early, Ok(DELIVERED));
        assert_eq!(table.wait(early).0.unwrap(), DELIVERED);

        let late = table.start(topic(), start_send_untraced());
        let reporter = {
            let table = Arc::clone(&table);
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(50));
                table.complete(late, Err(KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut)));
            })
        };
        let (outcome, topic) = table.wait(late);
        reporter.join().unwrap();
        assert_eq!(outcome, Err(KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut)));
        assert_eq!(&*topic.name, "audit.events.v1");
        assert_eq!(table.lock().live, 0);
    }

    #[test]
    fn slots_are_reused_and_a_burst_does_not_keep_its_memory() {
        let table = InFlightTable::default();
        let abandoned_first = table.start(topic(), start_send_untraced());
        table.abandon(abandoned_first);
        table.complete(abandoned_first, Ok(DELIVERED));
        let abandoned_after = table.start(topic(), start_send_untraced());
        assert_eq!(abandoned_after, abandoned_first, "a released slot is reused");
        table.complete(abandoned_after, Ok(DELIVERED));
        table.abandon(abandoned_after);
        assert_eq!(table.lock().live, 0);

        let burst: Vec<usize> = (0..SLOTS_KEPT * 3).map(|_| table.start(topic(), start_send_untraced())).collect();
        for &slot in &burst {
            table.complete(slot, Ok(DELIVERED));
        }
        for &slot in &burst {
            table.wait(slot).0.unwrap();
        }
        let inner = table.lock();
        assert_eq!((inner.live, inner.slots.len()), (0, 0));
        assert!(inner.slots.capacity() <= SLOTS_KEPT);
    }

    #[test]
    fn closing_fails_what_is_still_pending() {
        let table = Arc::new(InFlightTable::default());
        let pending = table.start(topic(), start_send_untraced());
        let waiter = {
            let table = Arc::clone(&table);
            thread::spawn(move || table.wait(pending).0)
        };
        thread::sleep(Duration::from_millis(50));
        table.close();
        assert_eq!(waiter.join().unwrap(), Err(KafkaError::Canceled));
    }
}
