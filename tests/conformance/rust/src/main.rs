//! The Rust driver of the conformance suite: `driver consume` or `driver
//! produce`, configured by environment, JSON lines on stdout, exactly as
//! tests/conformance/PROTOCOL.md says.

use std::collections::HashMap;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use contracts_runtime::health::HealthServer;
use contracts_runtime::kafka::{
    config_from_env, ConsumerOptions, ProducerOptions, RetryPolicy, RunStats,
};
use contracts_runtime::opentelemetry::trace::{SpanId, SpanKind};
use contracts_runtime::opentelemetry::{global, Value};
use contracts_runtime::opentelemetry_sdk::error::OTelSdkResult;
use contracts_runtime::opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use contracts_runtime::{key, Consumer, Error, Producer, Record, Topic};
use registry_contracts::audit::v1::AuditEvent;
use registry_contracts::topics::AUDIT_EVENTS_V1;
use serde_json::{json, Map, Value as Json};

/// How long a batch waits for more records after its first.
const BATCH_WAIT: Duration = Duration::from_millis(200);

fn main() -> ExitCode {
    let role = std::env::args().nth(1).unwrap_or_default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(PrintingExporter)
        .build();
    global::set_tracer_provider(provider.clone());
    let outcome = match role.as_str() {
        "consume" => consume(),
        "produce" => produce(),
        _ => {
            eprintln!("usage: driver consume | driver produce");
            return ExitCode::from(2);
        }
    };
    // Every span has ended by now; the simple processor exported each at its end.
    let _ = provider.force_flush();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            emit(
                json!({"event": "error", "kind": error.kind().name(), "message": error.to_string()}),
            );
            ExitCode::from(3)
        }
    }
}

/// One JSON line on stdout, flushed at once.
fn emit(line: Json) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

fn env_number(name: &str, default: u64) -> Result<u64, Error> {
    match env(name) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse()
            .map_err(|_| Error::Config(format!("{name}={value:?} is not a number"))),
    }
}

/// The bound topic: audit.events.v1's binding, on CONFORMANCE_TOPIC when set.
fn topic() -> Topic<AuditEvent> {
    match env("CONFORMANCE_TOPIC") {
        Some(name) if name != AUDIT_EVENTS_V1.name() => {
            let name: &'static str = Box::leak(name.into_boxed_str());
            let key = |event: &AuditEvent| key::string(&event.zone_id);
            Topic::new(
                name,
                AUDIT_EVENTS_V1.type_name(),
                Some(key),
                *AUDIT_EVENTS_V1.settings(),
            )
        }
        _ => AUDIT_EVENTS_V1,
    }
}

fn connect_timeout() -> Result<Duration, Error> {
    Ok(Duration::from_millis(env_number(
        "CONFORMANCE_TIMEOUT_MS",
        10_000,
    )?))
}

fn produce() -> Result<(), Error> {
    let topic = topic();
    let count = env_number("CONFORMANCE_COUNT", 1)?;
    let keys: Vec<String> = env("CONFORMANCE_KEYS")
        .map(|keys| keys.split(',').map(|key| key.trim().to_owned()).collect())
        .unwrap_or_else(|| vec!["ok-1".to_owned()]);
    let options = ProducerOptions {
        connect_timeout: connect_timeout()?,
        ..ProducerOptions::default()
    };
    let producer = Producer::with_options(config_from_env()?, options)?;
    emit(json!({"event": "started"}));
    let events: Vec<AuditEvent> = (0..count as usize)
        .map(|index| AuditEvent {
            event_id: format!("event-{index}"),
            zone_id: keys[index % keys.len()].clone(),
            ..AuditEvent::default()
        })
        .collect();
    let pending = events
        .iter()
        .map(|event| producer.send_async(&topic, event))
        .collect::<Result<Vec<_>, _>>()?;
    for (event, pending) in events.iter().zip(pending) {
        let delivery = pending.wait()?;
        emit(
            json!({"event": "produced", "partition": delivery.partition, "offset": delivery.offset, "zone_id": event.zone_id}),
        );
    }
    producer.close()
}

fn consume() -> Result<(), Error> {
    let topic = topic();
    let group = env("CONFORMANCE_GROUP")
        .ok_or_else(|| Error::Config("CONFORMANCE_GROUP is not set".into()))?;
    let batch = match env("CONFORMANCE_MODE").as_deref() {
        None | Some("record") => false,
        Some("batch") => true,
        Some(other) => {
            return Err(Error::Config(format!(
                "CONFORMANCE_MODE={other:?} is not record or batch"
            )))
        }
    };
    let batch_max = env_number("CONFORMANCE_BATCH_MAX", 100)? as usize;
    let stop_after = env_number("CONFORMANCE_STOP_AFTER", 0)?;
    let port = env_number("CONFORMANCE_HTTP_PORT", 0)?;
    let retry = RetryPolicy {
        attempts: env_number("CONFORMANCE_ATTEMPTS", 3)? as u32,
        base_delay: Duration::from_millis(env_number("CONFORMANCE_BASE_DELAY_MS", 10)?),
        ..RetryPolicy::default()
    };
    let options = ConsumerOptions {
        retry,
        connect_timeout: connect_timeout()?,
        ..ConsumerOptions::default()
    };
    let consumer = Consumer::with_options(&group, config_from_env()?, options)?;
    let server = match port {
        0 => None,
        port => Some(HealthServer::start(
            &format!("127.0.0.1:{port}"),
            vec![consumer.health()],
        )?),
    };
    consumer.subscribe(&topic)?;

    let terminated = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&terminated))
        .map_err(|error| Error::Config(format!("cannot handle SIGTERM: {error}")))?;
    emit(json!({"event": "started"}));

    let stop = |stats: &RunStats| {
        terminated.load(Ordering::SeqCst)
            || (stop_after > 0 && stats.handled + stats.dead_lettered >= stop_after)
    };
    let mut calls = Calls::default();
    let outcome = if batch {
        consumer.run_batch(
            &topic,
            |records| calls.handle(&records),
            batch_max,
            BATCH_WAIT,
            stop,
        )
    } else {
        consumer.run(
            &topic,
            |record| calls.handle(std::slice::from_ref(&record)),
            stop,
        )
    };
    outcome?;
    consumer.close()?;
    if let Some(server) = server {
        server.close();
    }
    emit(json!({"event": "stopped"}));
    Ok(())
}

/// The handler's behaviour, driven by each record's zone_id, and each record's
/// call count.
#[derive(Default)]
struct Calls {
    counts: HashMap<(i32, i64), u64>,
}

impl Calls {
    /// One handler call with `records`: fails when any of them fails by its rule.
    fn handle(&mut self, records: &[Record<AuditEvent>]) -> Result<(), String> {
        let mut attempts = Vec::with_capacity(records.len());
        let mut failure = None;
        for record in records {
            let count = self
                .counts
                .entry((record.partition, record.offset))
                .or_insert(0);
            *count += 1;
            attempts.push(*count);
            if let Err(error) = behave(&record.message.zone_id, *count) {
                failure.get_or_insert(error);
            }
        }
        for (record, attempt) in records.iter().zip(attempts) {
            emit(json!({
                "event": "handled",
                "partition": record.partition,
                "offset": record.offset,
                "zone_id": record.message.zone_id,
                "attempt": attempt,
                "ok": failure.is_none(),
                "batch_size": records.len(),
            }));
        }
        failure.map_or(Ok(()), Err)
    }
}

/// `ok-*`, `fail-N-*`, `always-*`, `sleep-MS-*`, `stuck-*`; for call number `call`.
fn behave(zone_id: &str, call: u64) -> Result<(), String> {
    let number = |rest: &str| rest.split('-').next().and_then(|n| n.parse::<u64>().ok());
    if let Some(rest) = zone_id.strip_prefix("fail-") {
        let failures = number(rest).unwrap_or(0);
        return if call <= failures {
            Err(format!("{zone_id}: failing call {call} of {failures}"))
        } else {
            Ok(())
        };
    }
    if zone_id.starts_with("always-") {
        return Err(format!("{zone_id}: always fails"));
    }
    if let Some(rest) = zone_id.strip_prefix("sleep-") {
        std::thread::sleep(Duration::from_millis(number(rest).unwrap_or(0)));
        return Ok(());
    }
    if zone_id.starts_with("stuck-") {
        loop {
            std::thread::park();
        }
    }
    Ok(())
}

/// Prints every ended span as a `span` event.
#[derive(Debug)]
struct PrintingExporter;

impl SpanExporter for PrintingExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        for span in batch {
            let kind = match span.span_kind {
                SpanKind::Producer => "PRODUCER",
                SpanKind::Consumer => "CONSUMER",
                SpanKind::Client => "CLIENT",
                SpanKind::Server => "SERVER",
                SpanKind::Internal => "INTERNAL",
            };
            let parent =
                (span.parent_span_id != SpanId::INVALID).then(|| span.parent_span_id.to_string());
            let attributes: Map<String, Json> = span
                .attributes
                .iter()
                .map(|kv| (kv.key.to_string(), attribute(&kv.value)))
                .collect();
            emit(json!({
                "event": "span",
                "name": span.name,
                "kind": kind,
                "trace_id": span.span_context.trace_id().to_string(),
                "parent_span_id": parent,
                "attributes": attributes,
            }));
        }
        Ok(())
    }
}

fn attribute(value: &Value) -> Json {
    match value {
        Value::Bool(value) => json!(value),
        Value::I64(value) => json!(value),
        Value::F64(value) => json!(value),
        Value::String(value) => json!(value.as_str()),
        other => json!(other.to_string()),
    }
}
