//! Consumers: the runtime's per-record `run` against its `run_batch`.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use contracts_runtime::rdkafka::config::ClientConfig;
use contracts_runtime::{Consumer, Record};
use registry_contracts::audit::v1::AuditEvent;

use crate::events::audit_topic;
use crate::{Run, Settings, Stopwatch};

/// How long a run may take before it is given up.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest a batch waits to fill after its first record, as in benchmarks/sdk.py.
const MAX_WAIT: Duration = Duration::from_millis(100);

/// Times a consumer from the end of its first handler call (the group is
/// joined and records flow) to the moment the last record was handled; the
/// commit and close that follow are not part of the throughput.
struct ConsumeTimer {
    total: usize, // records handled in all, the first call's included
    seen: usize,
    first: usize, // records of the first call
    watch: Option<Stopwatch>,
    result: Option<Run>,
}

impl ConsumeTimer {
    fn new(total: usize) -> Self {
        Self { total, seen: 0, first: 0, watch: None, result: None }
    }

    fn handled(&mut self, records: usize) {
        self.seen += records;
        match &self.watch {
            None => {
                self.first = self.seen;
                self.watch = Some(Stopwatch::start());
            }
            Some(watch) if self.seen == self.total => self.result = Some(watch.stop(self.seen - self.first)),
            Some(_) => {}
        }
    }

    fn done(self) -> Result<Run, String> {
        self.result.filter(|run| run.records > 0).ok_or_else(|| {
            format!("handled {} of {} records (first call: {})", self.seen, self.total, self.first)
        })
    }
}

/// One round trip to the system the handler writes to (a database insert,
/// an HTTP call): time spent waiting, not computing.
fn downstream(cost: Duration) {
    if !cost.is_zero() {
        std::thread::sleep(cost);
    }
}

fn consumer(settings: &Settings) -> Result<Consumer, String> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &settings.bootstrap);
    Consumer::new(&settings.group, config).map_err(|error| error.to_string())
}

/// `Consumer::run`, one handler call per record; reads 1 + records records
/// from the start of the topic.
pub fn consume_records(settings: &Settings) -> Result<Run, String> {
    let topic = audit_topic(&settings.topic);
    let consumer = consumer(settings)?;
    let mut timer = ConsumeTimer::new(settings.records + 1);
    let deadline = Instant::now() + RUN_TIMEOUT;
    consumer
        .run(
            &topic,
            |_: Record<AuditEvent>| {
                downstream(settings.handler_cost);
                timer.handled(1);
                Ok::<(), Infallible>(())
            },
            |stats| stats.records >= (settings.records + 1) as u64 || Instant::now() > deadline,
        )
        .map_err(|error| error.to_string())?;
    consumer.close().map_err(|error| error.to_string())?;
    timer.done()
}

/// `Consumer::run_batch`, one handler call per batch of up to batch_size
/// records, waiting at most 100 ms to fill one.
pub fn consume_batches(settings: &Settings) -> Result<Run, String> {
    let topic = audit_topic(&settings.topic);
    let consumer = consumer(settings)?;
    let mut timer = ConsumeTimer::new(settings.records + 1);
    let deadline = Instant::now() + RUN_TIMEOUT;
    consumer
        .run_batch(
            &topic,
            |records: Vec<Record<AuditEvent>>| {
                downstream(settings.handler_cost);
                timer.handled(records.len());
                Ok::<(), Infallible>(())
            },
            settings.batch_size,
            MAX_WAIT,
            |stats| stats.records >= (settings.records + 1) as u64 || Instant::now() > deadline,
        )
        .map_err(|error| error.to_string())?;
    consumer.close().map_err(|error| error.to_string())?;
    timer.done()
}

/// What the simulated downstream call really takes, 200 calls.
pub fn calibrate_sleep(settings: &Settings) -> Result<Run, String> {
    let watch = Stopwatch::start();
    for _ in 0..200 {
        downstream(settings.handler_cost);
    }
    Ok(watch.stop(200))
}
