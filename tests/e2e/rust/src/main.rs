//! Produces and consumes the example registry's topics through the generated
//! crate's bindings and the Rust runtime, for tests/test_e2e.py.
//!
//! ```text
//! e2e produce TOPIC N                 # messages 0..N-1 (messages.rs); one JSON line per delivery
//! e2e consume TOPIC GROUP N           # N records (dead-lettered ones count); one JSON line per message
//! e2e consume-batch TOPIC GROUP N     # the same through run_batch; lines carry their batch number
//! ```
//!
//! TOPIC is a binding's topic name (audit.events.v1, email.dispatch.v1,
//! preferences.changed.v1) or that name plus "." and a suffix: the binding is
//! then used on that topic instead, so each test can have fresh topics. The
//! brokers come from KAFKA_BOOTSTRAP_SERVERS (and the other KAFKA_* variables
//! the runtime reads); E2E_TIMEOUT_SECONDS (default 60) bounds a run.
//!
//! prost has no JSON codec, so a consumed message is printed as its `id`
//! field plus `value`: the hex of prost's encoding of the message it decoded.
//! The test parses that with the Python classes and compares every field;
//! whatever prost failed to decode or dropped would be missing there.

mod messages;

use std::cell::Cell;
use std::error::Error;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use prost::Message;
use registry_contracts::runtime::kafka::{config_from_env, Consumer, Producer, ProducerOptions, RunStats};
use registry_contracts::runtime::{Record, Topic};
use registry_contracts::topics::{AUDIT_EVENTS_V1, EMAIL_DISPATCH_V1, PREFERENCES_CHANGED_V1};
use serde_json::{json, Map, Value};

/// This program's ce_source, so readers can tell who wrote a record.
const SOURCE: &str = "//e2e-rust";
/// consume-batch's `run_batch` arguments.
const BATCH_SIZE: usize = 100;
const BATCH_WAIT: Duration = Duration::from_millis(200);
const USAGE: &str = "usage: e2e produce TOPIC N | e2e consume TOPIC GROUP N | e2e consume-batch TOPIC GROUP N";

type Result<T> = std::result::Result<T, Box<dyn Error>>;

enum Command {
    Produce { count: u64 },
    Consume { group: String, count: u64, batch: bool },
}

fn main() -> ExitCode {
    match run(&std::env::args().skip(1).collect::<Vec<_>>()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("e2e: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let (command, topic) = parse_args(args)?;
    if std::env::var_os("KAFKA_BOOTSTRAP_SERVERS").is_none() {
        return Err("KAFKA_BOOTSTRAP_SERVERS is not set".into());
    }
    let timeout = match std::env::var("E2E_TIMEOUT_SECONDS") {
        Ok(value) => Duration::from_secs_f64(value.parse().map_err(|e| format!("E2E_TIMEOUT_SECONDS={value:?}: {e}"))?),
        Err(_) => Duration::from_secs(60),
    };
    let deadline = Instant::now() + timeout;
    // The generated constants, or the same binding on a fresh topic name. The
    // key stays the generated one: the closures call the constant's key().
    if binding_of(&topic, AUDIT_EVENTS_V1.name()) {
        let bound = rebind(&AUDIT_EVENTS_V1, &topic, |m| AUDIT_EVENTS_V1.key(m).expect("keyed"));
        execute(&command, &bound, messages::audit_event, |m| &m.event_id, deadline)
    } else if binding_of(&topic, EMAIL_DISPATCH_V1.name()) {
        let bound = rebind(&EMAIL_DISPATCH_V1, &topic, |m| EMAIL_DISPATCH_V1.key(m).expect("keyed"));
        execute(&command, &bound, messages::email_message, |m| &m.message_id, deadline)
    } else if binding_of(&topic, PREFERENCES_CHANGED_V1.name()) {
        let bound = rebind(&PREFERENCES_CHANGED_V1, &topic, |m| PREFERENCES_CHANGED_V1.key(m).expect("keyed"));
        execute(&command, &bound, messages::preference_changed, |m| &m.user_id, deadline)
    } else {
        Err(format!("topic {topic:?} is not a binding's topic (or one of them plus .SUFFIX)").into())
    }
}

fn parse_args(args: &[String]) -> Result<(Command, String)> {
    let count = |text: &str| -> Result<u64> {
        match text.parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("N must be a positive integer, got {text:?}").into()),
        }
    };
    match args {
        [name, topic, n] if name == "produce" => Ok((Command::Produce { count: count(n)? }, topic.clone())),
        [name, topic, group, n] if name == "consume" || name == "consume-batch" => Ok((
            Command::Consume { group: group.clone(), count: count(n)?, batch: name == "consume-batch" },
            topic.clone(),
        )),
        _ => Err(USAGE.into()),
    }
}

fn binding_of(topic: &str, binding_name: &str) -> bool {
    topic == binding_name || topic.strip_prefix(binding_name).is_some_and(|rest| rest.starts_with('.'))
}

/// `topic` on another name: same type name, settings and (through `key`) key.
/// Topic names are `&'static str` in generated code; one leaked name per run.
fn rebind<T: Message + Default>(topic: &Topic<T>, name: &str, key: fn(&T) -> Vec<u8>) -> Topic<T> {
    if name == topic.name() {
        return *topic;
    }
    let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
    Topic::new(name, topic.type_name(), Some(key), *topic.settings())
}

fn execute<T: Message + Default>(
    command: &Command,
    topic: &Topic<T>,
    build: fn(u64) -> T,
    id: fn(&T) -> &String,
    deadline: Instant,
) -> Result<()> {
    match command {
        Command::Produce { count } => produce(topic, build, *count),
        Command::Consume { group, count, batch } => consume(topic, id, group, *count, *batch, deadline),
    }
}

fn produce<T: Message + Default>(topic: &Topic<T>, build: fn(u64) -> T, count: u64) -> Result<()> {
    let options = ProducerOptions { source: SOURCE.to_owned(), ..ProducerOptions::default() };
    let producer = Producer::with_options(config_from_env()?, options)?;
    let messages: Vec<T> = (0..count).map(build).collect();
    let pending = messages.iter().map(|message| producer.send_async(topic, message)).collect::<Vec<_>>();
    let mut lines = Vec::with_capacity(messages.len());
    for (index, (message, pending)) in messages.iter().zip(pending).enumerate() {
        let delivery = pending?.wait()?;
        let key = topic.key(message).map(|key| String::from_utf8_lossy(&key).into_owned());
        // send_async does not return the generated ce_id: readers report it.
        lines.push(json!({
            "index": index, "partition": delivery.partition, "offset": delivery.offset, "key": key, "ce_id": null,
        }));
    }
    producer.close()?;
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

fn consume<T: Message + Default>(
    topic: &Topic<T>,
    id: fn(&T) -> &String,
    group: &str,
    count: u64,
    batch: bool,
    deadline: Instant,
) -> Result<()> {
    let consumer = Consumer::from_env(group)?;
    let timed_out = Cell::new(false);
    let stop = |stats: &RunStats| {
        timed_out.set(Instant::now() >= deadline);
        stats.records >= count || timed_out.get()
    };
    let stats = if batch {
        let batches = Cell::new(0_u64);
        let handler = |records: Vec<Record<T>>| -> std::result::Result<(), String> {
            for record in &records {
                println!("{}", received(Some(batches.get()), id(&record.message), record));
            }
            batches.set(batches.get() + 1);
            Ok(())
        };
        consumer.run_batch(topic, handler, BATCH_SIZE, BATCH_WAIT, stop)?
    } else {
        let handler = |record: Record<T>| -> std::result::Result<(), String> {
            println!("{}", received(None, id(&record.message), &record));
            Ok(())
        };
        consumer.run(topic, handler, stop)?
    };
    consumer.close()?;
    if stats.records < count {
        return Err(format!(
            "E2E_TIMEOUT_SECONDS passed after {} of {count} records ({} handled, {} dead-lettered)",
            stats.records, stats.handled, stats.dead_lettered
        )
        .into());
    }
    Ok(())
}

/// One line of consume's output.
fn received<T: Message>(batch: Option<u64>, id: &str, record: &Record<T>) -> Value {
    let headers: Map<String, Value> = record
        .headers
        .iter()
        .map(|header| (header.key.clone(), Value::String(String::from_utf8_lossy(&header.value).into_owned())))
        .collect();
    let mut line = json!({
        "partition": record.partition,
        "offset": record.offset,
        "key": record.key.as_deref().map(String::from_utf8_lossy),
        "headers": headers,
        "id": id,
        "value": hex(&record.message.encode_to_vec()),
    });
    if let Some(batch) = batch {
        line["batch"] = json!(batch);
    }
    line
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(2 * bytes.len()), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}
