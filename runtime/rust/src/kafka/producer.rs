//! A producer that writes only a topic's bound message type, in the envelope.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use prost::Message;
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer as _, ThreadedProducer};
use rdkafka::ClientConfig;

use super::client::{check_reachable, check_topic, Context, Delivery, InFlightTable, ProducerTopic};
use super::config::{bootstrap_of, config_from_env, with_defaults, PRODUCER_DEFAULTS};
use super::observe;
use super::Error;
use crate::envelope::{self, DEFAULT_SOURCE};
use crate::{EncodeOptions, Topic};

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
    /// The topics known to exist, with their series. Read on every record,
    /// written once per topic.
    topics: RwLock<HashMap<Box<str>, Arc<ProducerTopic>>>,
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
            topics: RwLock::new(HashMap::new()),
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
        let produced = self.ensure_topic(topic.name())?;
        let source = options.source.unwrap_or(&self.source);
        let time = options.time.unwrap_or_else(SystemTime::now);
        let key = topic.key(message);
        let (span, trace_headers) = observe::start_send(topic.name(), key.as_deref());
        let headers = OwnedHeaders::new_with_capacity(envelope::CLOUD_EVENT_HEADERS + trace_headers.len());
        // The envelope's values go from the stack straight into librdkafka's
        // headers, which copy them: no owned header per record.
        let mut headers = envelope::fold_cloud_event_headers(
            (topic.type_name(), source, options.id, time),
            headers,
            |headers, key, value| headers.insert(KafkaHeader { key, value: Some(value) }),
        );
        for header in &trace_headers {
            headers = headers.insert(KafkaHeader { key: &header.key, value: Some(header.value.as_slice()) });
        }
        let in_flight = self.in_flight().start(produced, span);
        // librdkafka copies the value: one buffer per thread serves every record.
        VALUE_BUFFER.with_borrow_mut(|value| {
            value.clear();
            message.encode(value).expect("a Vec grows to fit any message");
            let enqueued = self.enqueue_checked(topic.name(), key.as_deref(), Some(value), headers, in_flight);
            if value.capacity() > VALUE_BUFFER_KEPT {
                *value = Vec::new(); // one large message does not keep its memory
            }
            enqueued
        })
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
        let produced = self.ensure_topic(topic)?;
        let in_flight = self.in_flight().start(produced, observe::start_send_untraced());
        self.enqueue_checked(topic, key, value, headers, in_flight)
    }

    fn enqueue_checked(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: OwnedHeaders,
        in_flight: usize,
    ) -> Result<PendingDelivery, Error> {
        let mut record: BaseRecord<'_, [u8], [u8], _> = BaseRecord::with_opaque_to(topic, in_flight).headers(headers);
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(value) = value {
            record = record.payload(value);
        }
        let give_up_at = Instant::now() + QUEUE_FULL_TIMEOUT;
        loop {
            match self.inner.send(record) {
                Ok(()) => {
                    // Serve the delivery reports that are ready on this thread, as
                    // a caller of a bare librdkafka producer does: the memory of
                    // the records is then freed by the thread that allocated it,
                    // not by the polling thread, whose frees contend for the
                    // allocator with this thread's next records.
                    self.inner.poll(Duration::ZERO);
                    return Ok(PendingDelivery { table: Arc::clone(self.in_flight()), slot: in_flight, waited: false });
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned))
                    if Instant::now() < give_up_at =>
                {
                    // The polling thread drains the queue as deliveries complete.
                    record = returned;
                    thread::sleep(Duration::from_millis(5));
                }
                Err((error, _)) => {
                    let table = self.in_flight();
                    table.complete(in_flight, Err(error.clone()));
                    table.abandon(in_flight);
                    return Err(Error::Delivery { topic: topic.to_owned(), error });
                }
            }
        }
    }

    fn in_flight(&self) -> &Arc<InFlightTable> {
        &self.inner.context().in_flight
    }

    /// Checks once per topic that it exists; returns it with its series.
    pub(crate) fn ensure_topic(&self, topic: &str) -> Result<Arc<ProducerTopic>, Error> {
        if let Some(known) = self.topics.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(topic) {
            return Ok(Arc::clone(known));
        }
        check_topic(self.inner.client(), topic, &self.bootstrap, self.connect_timeout)?;
        let known = Arc::new(ProducerTopic { name: topic.into(), series: self.inner.context().metrics.topic(topic) });
        let mut topics = self.topics.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(Arc::clone(topics.entry(topic.into()).or_insert(known)))
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

/// The largest value buffer a thread keeps between records.
const VALUE_BUFFER_KEPT: usize = 1 << 20;

thread_local! {
    /// Where `send` encodes a value before librdkafka copies it.
    static VALUE_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A record on its way; [`PendingDelivery::wait`] blocks until the broker
/// acknowledges it or it fails (at the latest after `message.timeout.ms`).
#[must_use = "a delivery failure is only seen by waiting"]
pub struct PendingDelivery {
    table: Arc<InFlightTable>,
    slot: usize,
    waited: bool,
}

impl PendingDelivery {
    pub fn wait(mut self) -> Result<Delivery, Error> {
        self.waited = true;
        let (outcome, topic) = self.table.wait(self.slot);
        outcome.map_err(|error| Error::Delivery { topic: topic.name.to_string(), error })
    }
}

impl Drop for PendingDelivery {
    fn drop(&mut self) {
        if !self.waited {
            self.table.abandon(self.slot);
        }
    }
}

impl fmt::Debug for PendingDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingDelivery").field("slot", &self.slot).finish_non_exhaustive()
    }
}
