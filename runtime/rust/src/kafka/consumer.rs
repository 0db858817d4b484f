//! A consumer that hands a handler only its topic's message type, at least
//! once, and dead-letters what breaks the contract or keeps failing
//! (`docs/runtime.md`, "Consumer").

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::config::FromClientConfigAndContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Header as KafkaHeader, Headers as _, Message as _, OwnedHeaders};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::client::{check_reachable, check_topic, Context};
use super::config::{bootstrap_of, config_from_env, consumer_config, dead_letter_producer_config};
use super::observe::{self, Processed, TopicSeries};
use super::producer::{Producer, ProducerOptions};
use super::Error;
use crate::envelope::{self, DeadLetter, DeadLetterReason};
use crate::{ErrorKind, Header, Record, Topic, Violation};

/// How long one poll waits before the stop condition is asked again.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// How often a failing handler is called (`docs/runtime.md`, "Retry policy").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls in all, the first included; `1` means no retry (`0` counts as `1`).
    pub attempts: u32,
    /// The wait before the first retry; each later wait doubles it.
    pub base_delay: Duration,
    /// The longest wait. Keep all waits together well under
    /// `max.poll.interval.ms` (5 min), or the group evicts the consumer.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { attempts: 3, base_delay: Duration::from_millis(200), max_delay: Duration::from_secs(5) }
    }
}

impl RetryPolicy {
    /// The wait before retry `retry` (1, 2, …): `min(max_delay, base_delay * 2^(retry-1))`.
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = 2_u32.saturating_pow(retry.saturating_sub(1));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// What a consumer is made with besides its group and client config.
#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    pub retry: RetryPolicy,
    /// The bound on metadata requests: at construction (is a broker there?)
    /// and when a run starts (do the topic and its `.dlq` exist?).
    pub connect_timeout: Duration,
    /// Where the consumer's series go (feature `metrics`); default [`crate::metrics::Metrics::global`].
    #[cfg(feature = "metrics")]
    pub metrics: crate::metrics::Metrics,
}

impl Default for ConsumerOptions {
    fn default() -> Self {
        let producer = ProducerOptions::default();
        Self {
            retry: RetryPolicy::default(),
            connect_timeout: producer.connect_timeout,
            #[cfg(feature = "metrics")]
            metrics: producer.metrics,
        }
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

/// Stops a consumer's run from anywhere (another thread, a signal handler's
/// thread): the same as [`Consumer::stop`].
#[derive(Debug, Clone)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Why a handler gave up on a record: the last error, and its call history.
struct Failure {
    error: String,
    attempts: u32,
    first_failure: SystemTime,
    last_failure: SystemTime,
    violations: Option<Vec<Violation>>,
}

impl Failure {
    /// A record that never reached the handler (`decode`, `wrong-type`, `validation`).
    fn at_once(error: &Error) -> Self {
        let now = SystemTime::now();
        let violations = match error {
            Error::Validation { violations, .. } => Some(violations.clone()),
            _ => None,
        };
        Self { error: error.to_string(), attempts: 0, first_failure: now, last_failure: now, violations }
    }
}

/// Reads typed records of one topic at a time in a consumer group.
///
/// Offsets are stored only after a record is handled or dead-lettered and are
/// committed in the background, on revocation and when a run ends, so a crash
/// replays records rather than losing them (at least once).
pub struct Consumer {
    consumer: BaseConsumer<Context>,
    dead_letters: Producer,
    group_id: String,
    bootstrap: String,
    options: ConsumerOptions,
    subscribed: Mutex<Option<&'static str>>,
    stopping: Arc<AtomicBool>,
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
    /// caller's. Fails with a [`Error::Connection`] as soon as the brokers
    /// refuse (connection, credentials, TLS), else within `connect_timeout`.
    pub fn with_options(group_id: &str, config: ClientConfig, options: ConsumerOptions) -> Result<Self, Error> {
        if group_id.trim().is_empty() {
            return Err(Error::Config("a consumer needs a non-empty group id".to_owned()));
        }
        let bootstrap = bootstrap_of(&config);
        let mut consumer_config = consumer_config(&config, group_id);
        // Statistics carry the partitions' ends and committed offsets that the
        // lag gauge and the readiness check read (no broker round trip each).
        if cfg!(any(feature = "metrics", feature = "health")) && consumer_config.get("statistics.interval.ms").is_none()
        {
            consumer_config.set("statistics.interval.ms", "1000");
        }
        let metrics = producer_options(&options).metrics();
        let consumer = BaseConsumer::from_config_and_context(&consumer_config, Context::new(metrics))?;
        // The dead-letter producer checks the brokers: its error callback runs
        // on its own thread, so a refusal is seen at once.
        let dead_letters = Producer::unchecked(&dead_letter_producer_config(&config), producer_options(&options))?;
        check_reachable(dead_letters.client(), &bootstrap, options.connect_timeout)?;
        consumer.context().state.answered();
        Ok(Self {
            consumer,
            dead_letters,
            group_id: group_id.to_owned(),
            bootstrap,
            options,
            subscribed: Mutex::new(None),
            stopping: Arc::new(AtomicBool::new(false)),
        })
    }

    pub fn group_id(&self) -> &str {
        &self.group_id
    }

    /// Ends the current run (or the next one at once): the record or batch in
    /// flight finishes, nothing new is handed over, stored offsets are committed.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// A handle that calls [`Consumer::stop`] from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(Arc::clone(&self.stopping))
    }

    /// What health checks read of this consumer (feature `health`).
    #[cfg(feature = "health")]
    pub fn health(&self) -> crate::health::HealthSource {
        crate::health::HealthSource::consumer(Arc::clone(&self.consumer.context().state), &self.dead_letters)
    }

    /// The start-up checks of a run: `topic` and its `.dlq` exist (else
    /// [`Error::UnknownTopic`]), then subscribes. [`Consumer::run`] calls it too.
    pub fn subscribe<T: prost::Message + Default>(&self, topic: &Topic<T>) -> Result<(), Error> {
        self.prepare(topic).map(drop)
    }

    /// Hands each record of `topic` to `handler` until [`Consumer::stop`] or
    /// `stop` says so (asked between records, and at least every 100 ms).
    ///
    /// A record that is not a `T` (wrong `ce_type`, undecodable value) goes to
    /// `<topic>.dlq` at once; so does one whose handler still fails after
    /// [`ConsumerOptions::retry`]. Either way its offset is stored only once
    /// the dead-letter record is acknowledged, and the run goes on.
    pub fn run<T, E, H, S>(&self, topic: &Topic<T>, mut handler: H, mut stop: S) -> Result<RunStats, Error>
    where
        T: prost::Message + Default,
        E: Display,
        H: FnMut(Record<T>) -> Result<(), E>,
        S: FnMut(&RunStats) -> bool,
    {
        let (dlq_topic, series) = self.prepare(topic)?;
        let mut stats = RunStats::default();
        let mut last_record = Instant::now();
        loop {
            stats.idle = last_record.elapsed();
            if self.stopping.load(Ordering::SeqCst) || stop(&stats) {
                break;
            }
            let Some(record) = self.poll(POLL_INTERVAL)? else { continue };
            last_record = Instant::now();
            stats.records += 1;
            match decode(topic, &record) {
                Err(error) if error.kind() == ErrorKind::Config => return Err(error),
                Err(error) => {
                    let failure = Failure::at_once(&error);
                    self.dead_letter(&record, &dlq_topic, reason_of(&error), &failure, &series)?;
                    stats.dead_lettered += 1;
                }
                Ok(message) => {
                    let processed = Processed {
                        topic: topic.name(),
                        group: &self.group_id,
                        partition: Some(record.partition()),
                        offset: Some(record.offset()),
                        key: record.key(),
                        batch_size: None,
                    };
                    let headers = headers_of(&record);
                    let span = observe::start_process(&processed, &[&headers]);
                    let mut first = Some(message);
                    let started = self.handler_started();
                    let outcome = self.with_retries(|| {
                        let message = first.take().unwrap_or_else(|| decode_again(topic, &record));
                        handler(record_of(topic, &record, message))
                    });
                    self.handler_ended(&series, started);
                    match outcome {
                        Ok(()) => {
                            span.end(None);
                            series.consumed(1);
                            observe_end_to_end(&series, &record);
                            stats.handled += 1;
                        }
                        Err(failure) => {
                            span.end(Some(&failure.error));
                            let reason = DeadLetterReason::Handler;
                            self.dead_letter(&record, &dlq_topic, reason, &failure, &series)?;
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
    /// arrive and left out of the batch. A batch whose handler still fails
    /// after its attempts is handed over again one record at a time (a batch
    /// of one, each with its own attempts), and only the records that still
    /// fail are dead-lettered. Offsets are stored once the whole batch is done.
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
        H: FnMut(Vec<Record<T>>) -> Result<(), E>,
        S: FnMut(&RunStats) -> bool,
    {
        let (dlq_topic, series) = self.prepare(topic)?;
        let mut stats = RunStats::default();
        let mut last_record = Instant::now();
        loop {
            stats.idle = last_record.elapsed();
            if self.stopping.load(Ordering::SeqCst) || stop(&stats) {
                break;
            }
            let batch = self.next_batch(topic, &dlq_topic, &series, max_records.max(1), max_wait, &mut stats)?;
            if batch.records.is_empty() {
                continue;
            }
            last_record = Instant::now();
            if !batch.decoded.is_empty() {
                let handled: Vec<&BorrowedMessage<'_>> =
                    batch.decoded.iter().map(|(index, _)| &batch.records[*index]).collect();
                self.handle_batch(topic, &mut handler, &handled, batch.decoded, &dlq_topic, &series, &mut stats)?;
            }
            self.store_offsets(&batch.records)?;
        }
        self.commit()?;
        Ok(stats)
    }

    /// One batch through the handler, then, if it keeps failing, each record alone.
    #[allow(clippy::too_many_arguments)]
    fn handle_batch<T, E, H>(
        &self,
        topic: &Topic<T>,
        handler: &mut H,
        handled: &[&BorrowedMessage<'_>],
        decoded: Vec<(usize, T)>,
        dlq_topic: &str,
        series: &TopicSeries,
        stats: &mut RunStats,
    ) -> Result<(), Error>
    where
        T: prost::Message + Default,
        E: Display,
        H: FnMut(Vec<Record<T>>) -> Result<(), E>,
    {
        let partitions: std::collections::BTreeSet<i32> = handled.iter().map(|record| record.partition()).collect();
        let processed = Processed {
            topic: topic.name(),
            group: &self.group_id,
            partition: (partitions.len() == 1).then(|| handled[0].partition()),
            offset: None,
            key: None,
            batch_size: Some(handled.len()),
        };
        let all_headers: Vec<Vec<Header>> = handled.iter().map(|record| headers_of(record)).collect();
        let parents: Vec<&[Header]> = all_headers.iter().map(Vec::as_slice).collect();
        let span = observe::start_process(&processed, &parents);
        let started = self.handler_started();
        let mut first = Some(decoded);
        let outcome = self.with_retries(|| {
            let messages: Vec<T> = first.take().map_or_else(
                || handled.iter().map(|record| decode_again(topic, record)).collect(),
                |decoded| decoded.into_iter().map(|(_, message)| message).collect(),
            );
            let records = messages.into_iter().zip(handled).map(|(message, record)| record_of(topic, record, message));
            handler(records.collect())
        });
        let Err(batch_failure) = outcome else {
            self.handler_ended(series, started);
            span.end(None);
            series.consumed(handled.len() as u64);
            handled.iter().for_each(|record| observe_end_to_end(series, record));
            stats.handled += handled.len() as u64;
            return Ok(());
        };
        // Alone, so that one bad record does not dead-letter its neighbours.
        let mut failed = Vec::new();
        for record in handled {
            let outcome = self.with_retries(|| handler(vec![record_of(topic, record, decode_again(topic, record))]));
            match outcome {
                Ok(()) => {
                    series.consumed(1);
                    observe_end_to_end(series, record);
                    stats.handled += 1;
                }
                Err(failure) => failed.push((*record, failure)),
            }
        }
        self.handler_ended(series, started);
        span.end(failed.first().map(|(_, failure)| failure.error.as_str()));
        for (record, failure) in failed {
            let failure = Failure {
                attempts: batch_failure.attempts + failure.attempts,
                first_failure: batch_failure.first_failure,
                ..failure
            };
            self.dead_letter(record, dlq_topic, DeadLetterReason::Handler, &failure, series)?;
            stats.dead_lettered += 1;
        }
        Ok(())
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
        let committed = self.commit();
        let context = self.consumer.context();
        for (topic, partition) in context.state.forget_all() {
            context.metrics.drop_consumer_lag(&topic, partition);
        }
        committed
    }

    /// Checks that `topic` and its dead-letter topic exist, then subscribes;
    /// returns the dead-letter topic and the topic's series.
    fn prepare<T: prost::Message + Default>(&self, topic: &Topic<T>) -> Result<(String, TopicSeries), Error> {
        let timeout = self.options.connect_timeout;
        check_topic(self.consumer.client(), topic.name(), &self.bootstrap, timeout)?;
        let dlq_topic = topic.dlq_name();
        self.dead_letters.ensure_topic(&dlq_topic)?;
        let mut subscribed = self.subscribed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if *subscribed != Some(topic.name()) {
            self.consumer.subscribe(&[topic.name()])?;
            *subscribed = Some(topic.name());
        }
        Ok((dlq_topic, self.consumer.context().metrics.topic(topic.name())))
    }

    /// The next record, if one arrives within `timeout`. Errors that librdkafka
    /// recovers from (a broker restarting) are logged; the others end the run.
    fn poll(&self, timeout: Duration) -> Result<Option<BorrowedMessage<'_>>, Error> {
        match self.consumer.poll(timeout) {
            None => Ok(None),
            Some(Ok(record)) => {
                let context = self.consumer.context();
                context.state.answered();
                let next = record.offset() + 1;
                let updated = context.state.update(record.topic(), record.partition(), |state| {
                    state.position = next;
                    state.end = state.end.max(next);
                });
                if let Some(lag) = updated.and_then(|state| state.lag()) {
                    context.metrics.set_consumer_lag(record.topic(), record.partition(), lag);
                }
                Ok(Some(record))
            }
            Some(Err(error)) if is_fatal(&error) => Err(error.into()),
            Some(Err(error)) => {
                log::debug!(target: "contracts_runtime", "consumer group {}: {error}", self.group_id);
                Ok(None)
            }
        }
    }

    fn next_batch<'c, T: prost::Message + Default>(
        &'c self,
        topic: &Topic<T>,
        dlq_topic: &str,
        series: &TopicSeries,
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
                Err(error) if error.kind() == ErrorKind::Config => return Err(error),
                Err(error) => {
                    let failure = Failure::at_once(&error);
                    self.dead_letter(&record, dlq_topic, reason_of(&error), &failure, series)?;
                    stats.dead_lettered += 1;
                }
            }
            batch.records.push(record);
        }
        Ok(batch)
    }

    fn handler_started(&self) -> Instant {
        self.consumer.context().state.handler_started();
        Instant::now()
    }

    fn handler_ended(&self, series: &TopicSeries, started: Instant) {
        self.consumer.context().state.handler_ended();
        series.handled_in(started.elapsed());
    }

    /// Calls `call` per the retry policy until it succeeds or the attempts are spent.
    fn with_retries<E: Display>(&self, mut call: impl FnMut() -> Result<(), E>) -> Result<(), Failure> {
        let retry = self.options.retry;
        let attempts = retry.attempts.max(1);
        let mut first_failure = None;
        let mut calls = 0;
        loop {
            calls += 1;
            let Err(error) = call() else { return Ok(()) };
            let last_failure = SystemTime::now();
            let first_failure = *first_failure.get_or_insert(last_failure);
            if calls >= attempts {
                return Err(Failure {
                    error: error.to_string(),
                    attempts: calls,
                    first_failure,
                    last_failure,
                    violations: None,
                });
            }
            let delay = retry.delay(calls);
            log::warn!(target: "contracts_runtime", "handler failed (attempt {calls} of {attempts}), retrying in {delay:?}: {error}");
            thread::sleep(delay);
        }
    }

    /// Writes `record` unchanged to `dlq_topic` with the dead-letter headers
    /// and waits until the broker has it.
    fn dead_letter(
        &self,
        record: &BorrowedMessage<'_>,
        dlq_topic: &str,
        reason: DeadLetterReason,
        failure: &Failure,
        series: &TopicSeries,
    ) -> Result<(), Error> {
        let error = failure.error.as_str();
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
            attempts: failure.attempts,
            first_failure: failure.first_failure,
            last_failure: failure.last_failure,
            violations: failure.violations.as_deref(),
        };
        let mut headers = OwnedHeaders::new();
        let mut earlier_first_failure = None;
        // The original headers as they are (a null value stays null), less any
        // earlier dead-letter headers, which the new ones replace.
        for header in record.headers().into_iter().flat_map(|headers| headers.iter()) {
            if header.key == envelope::DLQ_FIRST_FAILURE_TIME {
                earlier_first_failure.get_or_insert_with(|| header.value.unwrap_or_default().to_vec());
            } else if !header.key.starts_with(envelope::DLQ_HEADER_PREFIX) {
                headers = headers.insert(header);
            }
        }
        for header in dead_letter.own_headers(earlier_first_failure) {
            headers = headers.insert(KafkaHeader { key: &header.key, value: Some(header.value.as_slice()) });
        }
        self.dead_letters
            .enqueue(dlq_topic, record.key(), record.payload(), headers)
            .and_then(|pending| pending.wait())
            .map_err(|error| Error::DeadLetter {
                topic: record.topic().to_owned(),
                partition: record.partition(),
                offset: record.offset(),
                dlq_topic: dlq_topic.to_owned(),
                error: Box::new(error),
            })?;
        series.dead_lettered(reason);
        Ok(())
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

fn producer_options(options: &ConsumerOptions) -> ProducerOptions {
    ProducerOptions {
        connect_timeout: options.connect_timeout,
        #[cfg(feature = "metrics")]
        metrics: options.metrics.clone(),
        ..ProducerOptions::default()
    }
}

/// Records read for one batch, in order, and the messages of those that decoded.
struct Batch<'c, T> {
    records: Vec<BorrowedMessage<'c>>,
    /// (index in `records`, message)
    decoded: Vec<(usize, T)>,
}

/// Decodes a record, then validates it unless the topic's mode is off
/// (`wrong-type` and `decode` come first). A `Config` error (rules that do
/// not compile) stops the consumer: no record could pass them.
fn decode<T: prost::Message + Default>(topic: &Topic<T>, record: &BorrowedMessage<'_>) -> Result<T, Error> {
    let message = decode_unchecked(topic, record)?;
    topic.check_on_consume(&message)?;
    Ok(message)
}

fn decode_unchecked<T: prost::Message + Default>(topic: &Topic<T>, record: &BorrowedMessage<'_>) -> Result<T, Error> {
    let ce_type = record
        .headers()
        .and_then(|headers| headers.iter().find(|header| header.key == envelope::CE_TYPE))
        .map(|header| header.value.unwrap_or_default());
    topic.decode_parts(record.payload(), ce_type)
}

/// Decodes a record that decoded and validated before, for another call of
/// its handler.
fn decode_again<T: prost::Message + Default>(topic: &Topic<T>, record: &BorrowedMessage<'_>) -> T {
    decode_unchecked(topic, record).expect("the same bytes decoded on the first call")
}

fn headers_of(record: &BorrowedMessage<'_>) -> Vec<Header> {
    let headers = record.headers().into_iter().flat_map(|headers| headers.iter());
    headers.map(|header| Header::new(header.key, header.value.unwrap_or_default())).collect()
}

fn record_of<T: prost::Message + Default>(topic: &Topic<T>, record: &BorrowedMessage<'_>, message: T) -> Record<T> {
    let timestamp = record
        .timestamp()
        .to_millis()
        .and_then(|millis| u64::try_from(millis).ok())
        .map(|millis| UNIX_EPOCH + Duration::from_millis(millis));
    Record::new(
        message,
        topic.name(),
        record.partition(),
        record.offset(),
        record.key().map(<[u8]>::to_vec),
        headers_of(record),
        timestamp,
    )
}

/// Observes the time from the record's `ce_time` (else Kafka's timestamp) to now.
fn observe_end_to_end(series: &TopicSeries, record: &BorrowedMessage<'_>) {
    let ce_time = record
        .headers()
        .and_then(|headers| headers.iter().find(|header| header.key == envelope::CE_TIME))
        .and_then(|header| envelope::parse_time(header.value.unwrap_or_default()));
    let produced = ce_time.or_else(|| {
        let millis = u64::try_from(record.timestamp().to_millis()?).ok()?;
        Some(UNIX_EPOCH + Duration::from_millis(millis))
    });
    if let Some(produced) = produced {
        series.end_to_end_lag(SystemTime::now().duration_since(produced).unwrap_or_default());
    }
}

fn reason_of(error: &Error) -> DeadLetterReason {
    match error {
        Error::WrongType { .. } => DeadLetterReason::WrongType,
        Error::Validation { .. } => DeadLetterReason::Validation,
        _ => DeadLetterReason::Decode,
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
    fn delays_double_up_to_the_cap() {
        let retry =
            RetryPolicy { attempts: 10, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1) };
        let waits: Vec<u128> = (1..=6).map(|retry_number| retry.delay(retry_number).as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(retry.delay(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn the_default_policy_is_the_documented_one() {
        let retry = RetryPolicy::default();
        assert_eq!(
            (retry.attempts, retry.base_delay, retry.max_delay),
            (3, Duration::from_millis(200), Duration::from_secs(5))
        );
        assert_eq!(retry.delay(1), Duration::from_millis(200));
        assert_eq!(retry.delay(2), Duration::from_millis(400));
    }
}
