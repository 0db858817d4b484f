//! Producers: the runtime's typed `Producer` against rdkafka's own clients,
//! writing the same bytes (value, key, the envelope's six headers) with the
//! same settings.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use contracts_runtime::envelope::{self, format_time, new_id};
use contracts_runtime::rdkafka::config::ClientConfig;
use contracts_runtime::rdkafka::error::{KafkaError, RDKafkaErrorCode};
use contracts_runtime::rdkafka::message::{Header, OwnedHeaders};
use contracts_runtime::rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, FutureProducer, FutureRecord, Producer as _, ProducerContext,
};
use contracts_runtime::rdkafka::util::Timeout;
use contracts_runtime::rdkafka::ClientContext;
use contracts_runtime::Producer;
use prost::Message;
use registry_contracts::audit::v1::AuditEvent;

use crate::events::{audit_topic, make_events};
use crate::{Run, Settings, Stopwatch};

/// The typed producer's defaults (runtime/rust's PRODUCER_DEFAULTS), spelled
/// out for the raw clients.
const PRODUCER_SETTINGS: [(&str, &str); 5] = [
    ("enable.idempotence", "true"),
    ("acks", "all"),
    ("compression.type", "lz4"),
    ("linger.ms", "5"),
    ("partitioner", "murmur2_random"),
];

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const FLUSH_TIMEOUT: Duration = Duration::from_secs(120);

fn typed_producer(settings: &Settings) -> Result<Producer, String> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &settings.bootstrap);
    Producer::new(config).map_err(|error| error.to_string())
}

fn raw_config(settings: &Settings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &settings.bootstrap);
    for (key, value) in PRODUCER_SETTINGS {
        config.set(key, value);
    }
    config
}

/// `send_async` for every record, then waiting for every delivery (the
/// runtime README's way of having many records in flight).
pub fn produce_typed(settings: &Settings) -> Result<Run, String> {
    let (events, topic) = (make_events(), audit_topic(&settings.topic));
    let producer = typed_producer(settings)?;
    let watch = Stopwatch::start();
    let mut pending = Vec::with_capacity(settings.records);
    for i in 0..settings.records {
        pending.push(producer.send_async(&topic, &events[i % events.len()]).map_err(|error| error.to_string())?);
    }
    for delivery in pending {
        delivery.wait().map_err(|error| error.to_string())?;
    }
    let run = watch.stop(settings.records);
    producer.close().map_err(|error| error.to_string())?;
    Ok(run)
}

/// Counts deliveries in the raw producer's callback.
#[derive(Default)]
struct Deliveries {
    delivered: AtomicU64,
    failed: AtomicU64,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let counter = if result.is_ok() { &self.delivered } else { &self.failed };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The textbook rdkafka loop: `BaseProducer::send` with a delivery
/// callback, `poll(0)` after each record, poll and retry on a full queue.
pub fn produce_raw(settings: &Settings) -> Result<Run, String> {
    let events = make_events();
    let producer: BaseProducer<Deliveries> =
        raw_config(settings).create_with_context(Deliveries::default()).map_err(|error| error.to_string())?;
    // Producer::new checks the cluster before it returns: connect this one too.
    producer.client().fetch_metadata(None, CONNECT_TIMEOUT).map_err(|error| error.to_string())?;
    let watch = Stopwatch::start();
    for i in 0..settings.records {
        let event = &events[i % events.len()];
        let value = event.encode_to_vec();
        let mut record =
            BaseRecord::to(&settings.topic).key(event.zone_id.as_bytes()).payload(&value).headers(envelope_headers());
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    record = returned;
                    producer.poll(Duration::from_millis(10));
                }
                Err((error, _)) => return Err(error.to_string()),
            }
        }
        producer.poll(Duration::ZERO);
    }
    producer.flush(FLUSH_TIMEOUT).map_err(|error| error.to_string())?;
    let run = watch.stop(settings.records);
    let context = producer.context();
    let (delivered, failed) = (context.delivered.load(Ordering::Relaxed), context.failed.load(Ordering::Relaxed));
    if delivered != settings.records as u64 {
        return Err(format!("{delivered} of {} records delivered, {failed} failed", settings.records));
    }
    Ok(run)
}

/// The envelope's six headers, written as a user of the raw client would.
fn envelope_headers() -> OwnedHeaders {
    fn header<'a>(key: &'a str, value: &'a [u8]) -> Header<'a, &'a [u8]> {
        Header { key, value: Some(value) }
    }
    OwnedHeaders::new_with_capacity(6)
        .insert(header(envelope::CE_SPECVERSION, envelope::SPEC_VERSION.as_bytes()))
        .insert(header(envelope::CE_ID, new_id().as_bytes()))
        .insert(header(envelope::CE_SOURCE, envelope::DEFAULT_SOURCE.as_bytes()))
        .insert(header(envelope::CE_TYPE, b"audit.v1.AuditEvent"))
        .insert(header(envelope::CE_TIME, format_time(SystemTime::now()).as_bytes()))
        .insert(header(envelope::CONTENT_TYPE, envelope::PROTOBUF_CONTENT_TYPE.as_bytes()))
}

/// `Producer::send`, which waits for the ack, from `concurrency` threads
/// sharing one producer.
pub fn send_typed(settings: &Settings) -> Result<Run, String> {
    let (events, topic) = (make_events(), audit_topic(&settings.topic));
    let producer = typed_producer(settings)?;
    concurrently(settings, &events, |event| {
        producer.send(&topic, event).map(drop).map_err(|error| error.to_string())
    })
}

/// rdkafka's `FutureProducer`, one future awaited at a time per thread.
pub fn send_raw(settings: &Settings) -> Result<Run, String> {
    let events = make_events();
    let producer: FutureProducer = raw_config(settings).create().map_err(|error| error.to_string())?;
    producer.client().fetch_metadata(None, CONNECT_TIMEOUT).map_err(|error| error.to_string())?;
    concurrently(settings, &events, |event| {
        let value = event.encode_to_vec();
        let record =
            FutureRecord::to(&settings.topic).key(event.zone_id.as_bytes()).payload(&value).headers(envelope_headers());
        futures_executor::block_on(producer.send(record, Timeout::Never))
            .map(drop)
            .map_err(|(error, _)| error.to_string())
    })
}

/// Calls `send` for records 0..records, shared out among `concurrency`
/// threads, and times the whole.
fn concurrently<F>(settings: &Settings, events: &[AuditEvent], send: F) -> Result<Run, String>
where
    F: Fn(&AuditEvent) -> Result<(), String> + Sync,
{
    let next = AtomicUsize::new(0);
    let watch = Stopwatch::start();
    let outcomes: Vec<Result<(), String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..settings.concurrency)
            .map(|_| {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= settings.records {
                        return Ok(());
                    }
                    send(&events[i % events.len()])?;
                })
            })
            .collect();
        workers.into_iter().map(|worker| worker.join().unwrap_or_else(|_| Err("a sender panicked".into()))).collect()
    });
    let run = watch.stop(settings.records);
    outcomes.into_iter().collect::<Result<(), String>>()?;
    Ok(run)
}
