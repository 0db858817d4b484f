//! A producer that writes only a topic's bound message type, in the envelope.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use prost::Message;
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer as _, ThreadedProducer};
use rdkafka::ClientConfig;

use super::client::{check_reachable, check_topic, Context, Delivery, DeliveryOutcome, InFlight};
use super::config::{bootstrap_of, config_from_env, with_defaults, PRODUCER_DEFAULTS};
use super::observe::{self, TopicSeries};
use super::Error;
use crate::envelope::DEFAULT_SOURCE;
use crate::{EncodeOptions, EncodedRecord, Topic};

/// How long `send` keeps retrying while librdkafka's local queue is full.
const QUEUE_FULL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long closing or dropping a producer waits for records in flight.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// What a producer is made with besides its client config.
#[derive(Debug, Clone)]
pub struct ProducerOptions {
    /// `ce_source` of every record this producer writes; default `contracts`.
    pub source: String,
    /// The bound on every metadata request: at construction (is a broker
    /// there?) and on a topic's first record (does the topic exist?).
    pub connect_timeout: Duration,
    /// Where the producer's series go (feature `metrics`); default [`crate::metrics::Metrics::global`].
    #[cfg(feature = "metrics")]
    pub metrics: crate::metrics::Metrics,
}

impl Default for ProducerOptions {
    fn default() -> Self {
        Self {
            source: DEFAULT_SOURCE.to_owned(),
            connect_timeout: Duration::from_secs(10),
            #[cfg(feature = "metrics")]
            metrics: crate::metrics::Metrics::default(),
        }
    }
}

impl ProducerOptions {
    pub(crate) fn metrics(&self) -> observe::Metrics {
        #[cfg(feature = "metrics")]
        return self.metrics.clone();
        #[cfg(not(feature = "metrics"))]
        return observe::Metrics;
    }
}

/// Writes typed records: `send(&AUDIT_EVENTS_V1, &event)` takes only the
/// topic's message type. Idempotent, `acks=all`, lz4 and 5 ms linger unless the
/// config says otherwise. Safe to share between threads.
pub struct Producer {
    // Shared with health servers, which probe the brokers through it.
    inner: Arc<ThreadedProducer<Context>>,
    source: String,
    bootstrap: String,
    connect_timeout: Duration,
    /// The topics known to exist, with their series.
    topics: Mutex<HashMap<String, TopicSeries>>,
}

impl Producer {
    /// A producer configured from `KAFKA_*` variables (see [`super::config_from_env`]).
    pub fn from_env() -> Result<Self, Error> {
        Self::new(config_from_env()?)
    }

    /// A producer with `config` (the runtime's defaults fill what it leaves unset).
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        Self::with_options(config, ProducerOptions::default())
    }

    /// Like [`Producer::new`], with a source and connect timeout of the caller's.
    /// Fails within `connect_timeout` when no broker answers.
    pub fn with_options(config: ClientConfig, options: ProducerOptions) -> Result<Self, Error> {
        let producer = Self::unchecked(&with_defaults(&config, &PRODUCER_DEFAULTS), options)?;
        check_reachable(producer.inner.client(), &producer.bootstrap, producer.connect_timeout)?;
        Ok(producer)
    }

    /// A producer not yet known to reach a broker (a consumer's dead-letter
    /// producer, whose consumer has just checked).
    pub(crate) fn unchecked(config: &ClientConfig, options: ProducerOptions) -> Result<Self, Error> {
        let inner = Arc::new(ThreadedProducer::from_config_and_context(config, Context::new(options.metrics()))?);
        Ok(Self {
            inner,
            source: options.source,
            bootstrap: bootstrap_of(config),
            connect_timeout: options.connect_timeout,
            topics: Mutex::new(HashMap::new()),
        })
    }

    /// Writes `message` to `topic` and waits until it is acknowledged. In the
    /// topic's mode [`crate::Validation::Reject`] (the default) and with the
    /// feature `validate`, an invalid message is an [`Error::Validation`] and
    /// nothing is sent.
    pub fn send<T: Message + Default>(&self, topic: &Topic<T>, message: &T) -> Result<Delivery, Error> {
        self.send_async(topic, message)?.wait()
    }

    /// Like [`Producer::send`], with the caller's `ce_id`, `ce_time` or `ce_source`.
    pub fn send_with<T: Message + Default>(
        &self,
        topic: &Topic<T>,
        message: &T,
        options: EncodeOptions<'_>,
    ) -> Result<Delivery, Error> {
        self.send_async_with(topic, message, options)?.wait()
    }

    /// Enqueues `message` and returns at once; the [`PendingDelivery`] tells
    /// how it went. Many pending records make one batch on the wire.
    pub fn send_async<T: Message + Default>(&self, topic: &Topic<T>, message: &T) -> Result<PendingDelivery, Error> {
        self.send_async_with(topic, message, EncodeOptions::default())
    }

    /// [`Producer::send_async`] with the caller's `ce_id`, `ce_time` or `ce_source`.
    pub fn send_async_with<T: Message + Default>(
        &self,
        topic: &Topic<T>,
        message: &T,
        options: EncodeOptions<'_>,
    ) -> Result<PendingDelivery, Error> {
        topic.check_on_send(message)?;
        let options = EncodeOptions { source: options.source.or(Some(&self.source)), ..options };
        let record: EncodedRecord = topic.encode_with(message, options);
        let series = self.ensure_topic(record.topic)?;
        let (span, trace_headers) = observe::start_send(record.topic, record.key.as_deref());
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len() + trace_headers.len());
        for header in record.headers.iter().chain(&trace_headers) {
            headers = headers.insert(KafkaHeader { key: &header.key, value: Some(header.value.as_slice()) });
        }
        let in_flight = InFlight { sender: mpsc::sync_channel(1).0, sent: Instant::now(), series, span };
        self.enqueue_checked(record.topic, record.key.as_deref(), Some(&record.value), headers, in_flight)
    }

    /// Enqueues raw parts (a dead letter: no span) after checking, once per
    /// topic, that the topic exists (a missing topic would otherwise fail only
    /// when the record times out).
    pub(crate) fn enqueue(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: OwnedHeaders,
    ) -> Result<PendingDelivery, Error> {
        let series = self.ensure_topic(topic)?;
        let span = observe::start_send_untraced();
        let in_flight = InFlight { sender: mpsc::sync_channel(1).0, sent: Instant::now(), series, span };
        self.enqueue_checked(topic, key, value, headers, in_flight)
    }

    fn enqueue_checked(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: OwnedHeaders,
        mut in_flight: InFlight,
    ) -> Result<PendingDelivery, Error> {
        let (sender, receiver) = mpsc::sync_channel(1);
        in_flight.sender = sender;
        let mut record: BaseRecord<'_, [u8], [u8], _> =
            BaseRecord::with_opaque_to(topic, Box::new(in_flight)).headers(headers);
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(value) = value {
            record = record.payload(value);
        }
        let give_up_at = Instant::now() + QUEUE_FULL_TIMEOUT;
        loop {
            match self.inner.send(record) {
                Ok(()) => return Ok(PendingDelivery { topic: topic.to_owned(), receiver }),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned))
                    if Instant::now() < give_up_at =>
                {
                    // The polling thread drains the queue as deliveries complete.
                    record = returned;
                    thread::sleep(Duration::from_millis(5));
                }
                Err((error, returned)) => {
                    let in_flight = returned.delivery_opaque;
                    in_flight.series.produce_failed();
                    in_flight.span.end(Err(error.to_string()));
                    return Err(Error::Delivery { topic: topic.to_owned(), error });
                }
            }
        }
    }

    /// Checks once per topic that it exists; returns its series.
    pub(crate) fn ensure_topic(&self, topic: &str) -> Result<TopicSeries, Error> {
        if let Some(series) = self.topics.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(topic) {
            return Ok(series.clone());
        }
        check_topic(self.inner.client(), topic, &self.bootstrap, self.connect_timeout)?;
        let series = self.inner.context().metrics.topic(topic);
        self.topics.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(topic.to_owned(), series.clone());
        Ok(series)
    }

    /// What health checks read of this producer (feature `health`).
    #[cfg(feature = "health")]
    pub fn health(&self) -> crate::health::HealthSource {
        crate::health::HealthSource::producer(self)
    }

    pub(crate) fn client(&self) -> &rdkafka::client::Client<Context> {
        self.inner.client()
    }

    #[cfg(feature = "health")]
    pub(crate) fn shared(&self) -> Arc<ThreadedProducer<Context>> {
        Arc::clone(&self.inner)
    }

    /// Waits until every record sent so far is delivered or failed.
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        Ok(self.inner.flush(timeout)?)
    }

    /// Flushes (30 s at most) and closes. Dropping a producer flushes too, but
    /// can only log a failure.
    pub fn close(self) -> Result<(), Error> {
        self.flush(FLUSH_TIMEOUT)
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        // librdkafka's own drop purges what is still queued: deliver it first.
        if let Err(error) = self.inner.flush(FLUSH_TIMEOUT) {
            log::error!(target: "contracts_runtime", "records still undelivered when the producer was dropped: {error}");
        }
    }
}

/// A record on its way; [`PendingDelivery::wait`] blocks until the broker
/// acknowledges it or it fails (at the latest after `message.timeout.ms`).
#[must_use = "a delivery failure is only seen by waiting"]
#[derive(Debug)]
pub struct PendingDelivery {
    topic: String,
    receiver: Receiver<DeliveryOutcome>,
}

impl PendingDelivery {
    pub fn wait(self) -> Result<Delivery, Error> {
        // No outcome at all means librdkafka dropped the record unreported:
        // report it rather than pretend it was delivered.
        let outcome = self.receiver.recv().unwrap_or(Err(KafkaError::Canceled));
        outcome.map_err(|error| Error::Delivery { topic: self.topic, error })
    }
}
