//! A consumer that hands a handler only its topic's message type, at least
//! once, and dead-letters what breaks the contract or keeps failing.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use rdkafka::config::FromClientConfigAndContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Header as KafkaHeader, Headers as _, Message as _, OwnedHeaders};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::client::{check_reachable, check_topic, Context};
use super::config::{bootstrap_of, config_from_env, consumer_config, dead_letter_producer_config};
use super::producer::{Producer, ProducerOptions};
use super::Error;
use crate::envelope::{self, DeadLetter, DeadLetterReason};
use crate::{ContractError, Header, Topic};

/// How long one poll waits before the stop condition is asked again.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// How often a failing handler is tried before its records are dead-lettered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Tries in all, the first included; at least one is made.
    pub attempts: u32,
    /// The wait after the first failure; each later wait doubles it.
    pub initial_backoff: Duration,
    /// The longest wait. Keep all waits together well under
    /// `max.poll.interval.ms` (5 min), or the group evicts the consumer.
    pub max_backoff: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self { attempts: 4, initial_backoff: Duration::from_millis(200), max_backoff: Duration::from_secs(5) }
    }
}

impl Retry {
    /// The wait after `failures` failed tries (1 = after the first).
    pub fn backoff(&self, failures: u32) -> Duration {
        let factor = 2_u32.saturating_pow(failures.saturating_sub(1));
        self.initial_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// What a consumer is made with besides its group and client config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerOptions {
    pub retry: Retry,
    /// The bound on metadata requests: at construction (is a broker there?)
    /// and when a run starts (do the topic and its `.dlq` exist?).
    pub connect_timeout: Duration,
}

impl Default for ConsumerOptions {
    fn default() -> Self {
        Self { retry: Retry::default(), connect_timeout: ProducerOptions::default().connect_timeout }
    }
}

/// Where a record came from, handed to the handler with its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub topic: &'static str,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    /// Milliseconds since the epoch, when the record has a timestamp.
    pub timestamp_ms: Option<i64>,
    pub headers: Vec<Header>,
}

impl Metadata {
    /// The value of the first header named `key`.
    pub fn header(&self, key: &str) -> Option<&[u8]> {
        self.headers.iter().find(|header| header.key == key).map(|header| header.value.as_slice())
    }

    /// `ce_id`, if present and UTF-8.
    pub fn id(&self) -> Option<&str> {
        self.header(envelope::CE_ID).and_then(|value| std::str::from_utf8(value).ok())
    }

    /// `ce_source`, if present and UTF-8.
    pub fn source(&self) -> Option<&str> {
        self.header(envelope::CE_SOURCE).and_then(|value| std::str::from_utf8(value).ok())
    }
}

/// Counts of a run so far, given to its stop condition and returned at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Records read from the topic: handled plus dead-lettered.
    pub records: u64,
    /// Records the handler accepted.
    pub handled: u64,
    /// Records written to the dead-letter topic.
    pub dead_lettered: u64,
    /// Time since the last record arrived (or the run started).
    pub idle: Duration,
}

/// Reads typed records of one topic at a time in a consumer group.
///
/// Offsets are stored only after a record is handled or dead-lettered and are
/// committed in the background and when a run ends, so a crash replays records
/// rather than losing them (at least once).
pub struct Consumer {
    consumer: BaseConsumer<Context>,
    dead_letters: Producer,
    group_id: String,
    bootstrap: String,
    options: ConsumerOptions,
    subscribed: Mutex<Option<&'static str>>,
}

impl Consumer {
    /// A consumer in `group_id`, configured from `KAFKA_*` variables.
    pub fn from_env(group_id: &str) -> Result<Self, Error> {
        Self::new(group_id, config_from_env()?)
    }

    /// A consumer in `group_id` with `config` (the runtime's at-least-once
    /// settings always apply; `auto.offset.reset` defaults to `earliest`).
    pub fn new(group_id: &str, config: ClientConfig) -> Result<Self, Error> {
        Self::with_options(group_id, config, ConsumerOptions::default())
    }

    /// Like [`Consumer::new`], with a retry policy and connect timeout of the
    /// caller's. Fails within `connect_timeout` when no broker answers.
    pub fn with_options(group_id: &str, config: ClientConfig, options: ConsumerOptions) -> Result<Self, Error> {
        if group_id.trim().is_empty() {
            return Err(Error::Config("a consumer needs a non-empty group id".to_owned()));
        }
        let bootstrap = bootstrap_of(&config);
        let consumer = BaseConsumer::from_config_and_context(&consumer_config(&config, group_id), Context::default())?;
        check_reachable(consumer.client(), &bootstrap, options.connect_timeout)?;
        let producer_options =
            ProducerOptions { connect_timeout: options.connect_timeout, ..ProducerOptions::default() };
        let dead_letters = Producer::unchecked(&dead_letter_producer_config(&config), producer_options)?;
        Ok(Self {
            consumer,
            dead_letters,
            group_id: group_id.to_owned(),
            bootstrap,
            options,
            subscribed: Mutex::new(None),
        })
    }

    pub fn group_id(&self) -> &str {
        &self.group_id
    }

    /// Hands each record of `topic` to `handler` until `stop` says so (asked
    /// between records, and at least every 100 ms when none arrive).
    ///
    /// A record that is not a `T` (wrong `ce_type`, undecodable value) goes to
    /// `<topic>.dlq`; so does one whose handler still fails after
    /// [`ConsumerOptions::retry`]. Either way its offset is stored only once
    /// the dead-letter record is acknowledged, and the run goes on.
    pub fn run<T, E, H, S>(&self, topic: &Topic<T>, mut handler: H, mut stop: S) -> Result<RunStats, Error>
    where
        T: prost::Message + Default,
        E: Display,
        H: FnMut(T, Metadata) -> Result<(), E>,
        S: FnMut(&RunStats) -> bool,
    {
        let dlq_topic = self.subscribe(topic)?;
        let mut stats = RunStats::default();
        let mut last_record = Instant::now();
        loop {
            stats.idle = last_record.elapsed();
            if stop(&stats) {
                break;
            }
            let Some(record) = self.poll(POLL_INTERVAL)? else { continue };
            last_record = Instant::now();
            stats.records += 1;
            match decode(topic, &record) {
                Err(error) => {
                    self.dead_letter(&record, &dlq_topic, reason_of(&error), &error.to_string())?;
                    stats.dead_lettered += 1;
                }
                Ok(message) => {
                    let mut first = Some(message);
                    let outcome = self.with_retries(|| {
                        let message = first.take().unwrap_or_else(|| decode_again(topic, &record));
                        handler(message, metadata(topic, &record))
                    });
                    match outcome {
                        Ok(()) => stats.handled += 1,
                        Err(error) => {
                            self.dead_letter(&record, &dlq_topic, DeadLetterReason::HandlerError, &error)?;
                            stats.dead_lettered += 1;
                        }
                    }
                }
            }
            self.store_offsets(std::slice::from_ref(&record))?;
        }
        self.commit()?;
        Ok(stats)
    }

    /// Like [`Consumer::run`], handing records over in batches: up to
    /// `max_records`, or what arrived within `max_wait` of a batch's first
    /// record. Records that break the contract are dead-lettered as they
    /// arrive and left out of the batch; a batch whose handler still fails
    /// after the retries is dead-lettered whole. Offsets are stored once the
    /// whole batch is done.
    pub fn run_batch<T, E, H, S>(
        &self,
        topic: &Topic<T>,
        mut handler: H,
        max_records: usize,
        max_wait: Duration,
        mut stop: S,
    ) -> Result<RunStats, Error>
    where
        T: prost::Message + Default,
        E: Display,
        H: FnMut(Vec<(T, Metadata)>) -> Result<(), E>,
        S: FnMut(&RunStats) -> bool,
    {
        let dlq_topic = self.subscribe(topic)?;
        let mut stats = RunStats::default();
        let mut last_record = Instant::now();
        loop {
            stats.idle = last_record.elapsed();
            if stop(&stats) {
                break;
            }
            let batch = self.next_batch(topic, &dlq_topic, max_records.max(1), max_wait, &mut stats)?;
            if batch.records.is_empty() {
                continue;
            }
            last_record = Instant::now();
            if !batch.decoded.is_empty() {
                let handled: Vec<&BorrowedMessage<'_>> =
                    batch.decoded.iter().map(|(index, _)| &batch.records[*index]).collect();
                let mut first = Some(batch.decoded);
                let outcome = self.with_retries(|| {
                    let messages = first.take().map_or_else(
                        || handled.iter().map(|record| decode_again(topic, record)).collect(),
                        |decoded| decoded.into_iter().map(|(_, message)| message).collect::<Vec<T>>(),
                    );
                    let items =
                        messages.into_iter().zip(&handled).map(|(message, record)| (message, metadata(topic, record)));
                    handler(items.collect())
                });
                match outcome {
                    Ok(()) => stats.handled += handled.len() as u64,
                    Err(error) => {
                        for record in &handled {
                            self.dead_letter(record, &dlq_topic, DeadLetterReason::HandlerError, &error)?;
                            stats.dead_lettered += 1;
                        }
                    }
                }
            }
            self.store_offsets(&batch.records)?;
        }
        self.commit()?;
        Ok(stats)
    }

    /// Commits the stored offsets now and waits for the broker.
    pub fn commit(&self) -> Result<(), Error> {
        match self.consumer.commit_consumer_state(CommitMode::Sync) {
            // Nothing stored since the last commit.
            Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => Ok(()),
            other => Ok(other?),
        }
    }

    /// Commits and leaves the group. Dropping a consumer leaves too, committing
    /// in the background without reporting a failure.
    pub fn close(self) -> Result<(), Error> {
        self.commit()
    }

    /// Checks that `topic` and its dead-letter topic exist, then subscribes.
    fn subscribe<T: prost::Message + Default>(&self, topic: &Topic<T>) -> Result<String, Error> {
        let timeout = self.options.connect_timeout;
        check_topic(self.consumer.client(), topic.name(), &self.bootstrap, timeout)?;
        let dlq_topic = topic.dlq_name();
        self.dead_letters.ensure_topic(&dlq_topic)?;
        let mut subscribed = self.subscribed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if *subscribed != Some(topic.name()) {
            self.consumer.subscribe(&[topic.name()])?;
            *subscribed = Some(topic.name());
        }
        Ok(dlq_topic)
    }

    /// The next record, if one arrives within `timeout`. Errors that librdkafka
    /// recovers from (a broker restarting) are logged; the others end the run.
    fn poll(&self, timeout: Duration) -> Result<Option<BorrowedMessage<'_>>, Error> {
        match self.consumer.poll(timeout) {
            None => Ok(None),
            Some(Ok(record)) => Ok(Some(record)),
            Some(Err(error)) if is_fatal(&error) => Err(error.into()),
            Some(Err(error)) => {
                log::warn!(target: "contracts_runtime", "consumer group {}: {error}", self.group_id);
                Ok(None)
            }
        }
    }

    fn next_batch<'c, T: prost::Message + Default>(
        &'c self,
        topic: &Topic<T>,
        dlq_topic: &str,
        max_records: usize,
        max_wait: Duration,
        stats: &mut RunStats,
    ) -> Result<Batch<'c, T>, Error> {
        let mut batch = Batch { records: Vec::new(), decoded: Vec::new() };
        let mut started: Option<Instant> = None;
        while batch.records.len() < max_records {
            let timeout = match started {
                None => POLL_INTERVAL,
                Some(started) => match max_wait.checked_sub(started.elapsed()) {
                    Some(left) if !left.is_zero() => left,
                    _ => break,
                },
            };
            let Some(record) = self.poll(timeout)? else {
                if started.is_none() {
                    break; // nothing yet: let the caller ask its stop condition
                }
                continue;
            };
            started.get_or_insert_with(Instant::now);
            stats.records += 1;
            match decode(topic, &record) {
                Ok(message) => batch.decoded.push((batch.records.len(), message)),
                Err(error) => {
                    self.dead_letter(&record, dlq_topic, reason_of(&error), &error.to_string())?;
                    stats.dead_lettered += 1;
                }
            }
            batch.records.push(record);
        }
        Ok(batch)
    }

    /// Calls `attempt` until it succeeds or the retries are spent; returns the
    /// last error's text.
    fn with_retries<E: Display>(&self, mut attempt: impl FnMut() -> Result<(), E>) -> Result<(), String> {
        let retry = self.options.retry;
        let mut failures = 0;
        loop {
            let Err(error) = attempt() else { return Ok(()) };
            failures += 1;
            if failures >= retry.attempts {
                return Err(error.to_string());
            }
            let backoff = retry.backoff(failures);
            log::warn!(target: "contracts_runtime", "handler failed (try {failures} of {}), retrying in {backoff:?}: {error}", retry.attempts);
            thread::sleep(backoff);
        }
    }

    /// Writes `record` unchanged to `dlq_topic` with the dead-letter headers
    /// and waits until the broker has it.
    fn dead_letter(
        &self,
        record: &BorrowedMessage<'_>,
        dlq_topic: &str,
        reason: DeadLetterReason,
        error: &str,
    ) -> Result<(), Error> {
        log::warn!(
            target: "contracts_runtime",
            "dead-lettering {} partition {} offset {} to {dlq_topic} ({reason}): {error}",
            record.topic(), record.partition(), record.offset()
        );
        let dead_letter = DeadLetter {
            reason,
            error,
            topic: record.topic(),
            partition: record.partition(),
            offset: record.offset(),
            group: &self.group_id,
        };
        let mut headers = OwnedHeaders::new();
        // The original headers as they are (a null value stays null), less any
        // earlier dead-letter headers, which the new ones replace.
        for header in record.headers().into_iter().flat_map(|headers| headers.iter()) {
            if !header.key.starts_with(envelope::DLQ_HEADER_PREFIX) {
                headers = headers.insert(header);
            }
        }
        for header in dead_letter.headers(std::iter::empty()) {
            headers = headers.insert(KafkaHeader { key: &header.key, value: Some(header.value.as_slice()) });
        }
        self.dead_letters
            .enqueue(dlq_topic, record.key(), record.payload(), headers)
            .and_then(|pending| pending.wait())
            .map(drop)
            .map_err(|error| Error::DeadLetter {
                topic: record.topic().to_owned(),
                partition: record.partition(),
                offset: record.offset(),
                dlq_topic: dlq_topic.to_owned(),
                error: Box::new(error),
            })
    }

    /// Stores, per partition, the offset after the last of `records`.
    fn store_offsets(&self, records: &[BorrowedMessage<'_>]) -> Result<(), Error> {
        let mut next: BTreeMap<(&str, i32), i64> = BTreeMap::new();
        for record in records {
            let offset = next.entry((record.topic(), record.partition())).or_insert(0);
            *offset = (*offset).max(record.offset() + 1);
        }
        let mut offsets = TopicPartitionList::with_capacity(next.len());
        for ((topic, partition), offset) in next {
            offsets.add_partition_offset(topic, partition, Offset::Offset(offset))?;
        }
        match self.consumer.store_offsets(&offsets) {
            // The partition moved to another member during a rebalance; it
            // will consume these records again (at least once, not exactly once).
            Err(KafkaError::StoreOffset(RDKafkaErrorCode::State)) => {
                log::warn!(target: "contracts_runtime", "offsets not stored, partitions revoked: {offsets:?}");
                Ok(())
            }
            other => Ok(other?),
        }
    }
}

/// Records read for one batch, in order, and the messages of those that decoded.
struct Batch<'c, T> {
    records: Vec<BorrowedMessage<'c>>,
    /// (index in `records`, message)
    decoded: Vec<(usize, T)>,
}

fn decode<T: prost::Message + Default>(topic: &Topic<T>, record: &BorrowedMessage<'_>) -> Result<T, ContractError> {
    let ce_type = record
        .headers()
        .and_then(|headers| headers.iter().find(|header| header.key == envelope::CE_TYPE))
        .map(|header| header.value.unwrap_or_default());
    topic.decode_parts(record.payload(), ce_type)
}

/// Decodes a record that decoded before, for another try of its handler.
fn decode_again<T: prost::Message + Default>(topic: &Topic<T>, record: &BorrowedMessage<'_>) -> T {
    decode(topic, record).expect("the same bytes decoded on the first try")
}

fn metadata<T: prost::Message + Default>(topic: &Topic<T>, record: &BorrowedMessage<'_>) -> Metadata {
    let headers = record.headers().into_iter().flat_map(|headers| headers.iter());
    Metadata {
        topic: topic.name(),
        partition: record.partition(),
        offset: record.offset(),
        key: record.key().map(<[u8]>::to_vec),
        timestamp_ms: record.timestamp().to_millis(),
        headers: headers.map(|header| Header::new(header.key, header.value.unwrap_or_default())).collect(),
    }
}

fn reason_of(error: &ContractError) -> DeadLetterReason {
    match error {
        ContractError::WrongType { .. } => DeadLetterReason::WrongType,
        ContractError::Decode(_) => DeadLetterReason::DecodeError,
    }
}

/// Errors a consumer cannot recover from by waiting: the topic went away or
/// this client may not read it.
fn is_fatal(error: &KafkaError) -> bool {
    matches!(error, KafkaError::MessageConsumptionFatal(_))
        || matches!(
            error.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::UnknownTopicOrPartition
                    | RDKafkaErrorCode::UnknownTopic
                    | RDKafkaErrorCode::TopicAuthorizationFailed
                    | RDKafkaErrorCode::GroupAuthorizationFailed
                    | RDKafkaErrorCode::Authentication
            )
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let retry =
            Retry { attempts: 10, initial_backoff: Duration::from_millis(100), max_backoff: Duration::from_secs(1) };
        let waits: Vec<u128> = (1..=6).map(|failures| retry.backoff(failures).as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(retry.backoff(u32::MAX), Duration::from_secs(1));
    }
}
