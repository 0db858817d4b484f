//! What the producer and the consumer share: the librdkafka context that keeps
//! the client's state (errors, broker answers, partition offsets), and the
//! bounded-time checks made when a client starts.

use std::sync::mpsc::SyncSender;
use std::sync::Arc;
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

/// What travels with each produced record to its delivery report.
pub(crate) struct InFlight {
    pub sender: SyncSender<DeliveryOutcome>,
    pub sent: Instant,
    pub series: TopicSeries,
    pub span: SendSpan,
}

/// The librdkafka context of every client.
pub(crate) struct Context {
    pub state: Arc<ClientState>,
    pub metrics: Metrics,
}

impl Context {
    pub fn new(metrics: Metrics) -> Self {
        Self { state: Arc::new(ClientState::default()), metrics }
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
    type DeliveryOpaque = Box<InFlight>;

    fn delivery(&self, result: &DeliveryResult<'_>, in_flight: Self::DeliveryOpaque) {
        let InFlight { sender, sent, series, span } = *in_flight;
        let outcome = match result {
            Ok(message) => {
                self.state.answered();
                series.produced(sent.elapsed());
                span.end(Ok((message.partition(), message.offset())));
                Ok(Delivery { partition: message.partition(), offset: message.offset() })
            }
            Err((error, _)) => {
                series.produce_failed();
                span.end(Err(error.to_string()));
                Err(error.clone())
            }
        };
        // The channel holds one outcome and gets one; a dropped receiver means
        // the sender stopped waiting, which is its choice.
        let _ = sender.try_send(outcome);
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
