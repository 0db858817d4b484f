//! What the producer and the consumer share: the librdkafka context that
//! remembers the last client error, and the bounded-time metadata checks.

use std::sync::mpsc::SyncSender;
use std::sync::Mutex;
use std::time::Duration;

use rdkafka::client::{Client, ClientContext};
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message as _};
use rdkafka::producer::ProducerContext;

use super::Error;

/// Where a produced record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Delivery {
    pub partition: i32,
    pub offset: i64,
}

pub(crate) type DeliveryOutcome = Result<Delivery, KafkaError>;

/// The librdkafka context of every client: logs client errors and keeps the
/// last one, so a connect timeout can say why (e.g. authentication failed).
#[derive(Default)]
pub(crate) struct Context {
    last_error: Mutex<Option<String>>,
}

impl Context {
    fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

impl ClientContext for Context {
    fn error(&self, error: KafkaError, reason: &str) {
        log::error!(target: "contracts_runtime", "Kafka client error: {error}: {reason}");
        *self.last_error.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(reason.to_owned());
    }
}

impl ConsumerContext for Context {}

impl ProducerContext for Context {
    // Each record carries the sending half of a one-shot channel; its
    // `PendingDelivery` waits on the other half.
    type DeliveryOpaque = Box<SyncSender<DeliveryOutcome>>;

    fn delivery(&self, result: &DeliveryResult<'_>, sender: Self::DeliveryOpaque) {
        let outcome = match result {
            Ok(message) => Ok(Delivery { partition: message.partition(), offset: message.offset() }),
            Err((error, _)) => Err(error.clone()),
        };
        // The channel holds one outcome and gets one; a dropped receiver means
        // the sender stopped waiting, which is its choice.
        let _ = sender.try_send(outcome);
    }
}

/// Fails unless a broker answers a metadata request within `timeout`.
pub(crate) fn check_reachable(client: &Client<Context>, bootstrap: &str, timeout: Duration) -> Result<(), Error> {
    client.fetch_metadata(None, timeout).map(drop).map_err(|error| unreachable(client, bootstrap, timeout, &error))
}

/// Fails unless `topic` exists (and this client may see it).
pub(crate) fn check_topic(
    client: &Client<Context>,
    topic: &str,
    bootstrap: &str,
    timeout: Duration,
) -> Result<(), Error> {
    let metadata =
        client.fetch_metadata(Some(topic), timeout).map_err(|error| unreachable(client, bootstrap, timeout, &error))?;
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

fn unreachable(client: &Client<Context>, bootstrap: &str, timeout: Duration, error: &KafkaError) -> Error {
    let detail = match client.context().last_error() {
        Some(last) => format!("{error}; last client error: {last}"),
        None => error.to_string(),
    };
    Error::Unreachable { bootstrap: bootstrap.to_owned(), timeout, detail }
}
