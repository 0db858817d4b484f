//! Runs one contender of benchmarks/sdk_native.py once and prints its figures
//! as one JSON line: `{"records": n, "wall": s, "cpu": s}`. The Python side
//! alternates the contenders over several rounds and takes medians, so each
//! run is a fresh process with fresh clients; the timing starts once the
//! client is connected (producers) or the first handler call returned (the
//! group is joined and records flow), as in benchmarks/sdk.py.

mod consume;
mod events;
mod produce;

use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The command line: which contender, where, how many records.
pub struct Settings {
    pub mode: String,
    pub bootstrap: String,
    pub topic: String,
    pub records: usize,
    pub group: String,
    pub concurrency: usize,
    pub batch_size: usize,
    pub handler_cost: Duration,
}

/// What one contender did: `records` in `wall` seconds, using `cpu` seconds
/// of process CPU (every thread, user + system).
pub struct Run {
    pub records: usize,
    pub wall: f64,
    pub cpu: f64,
}

/// Times a part of the process.
pub struct Stopwatch {
    wall: Instant,
    cpu: Duration,
}

impl Stopwatch {
    pub fn start() -> Self {
        Self { wall: Instant::now(), cpu: process_cpu() }
    }

    pub fn stop(&self, records: usize) -> Run {
        Run { records, wall: self.wall.elapsed().as_secs_f64(), cpu: (process_cpu() - self.cpu).as_secs_f64() }
    }
}

fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

type Contender = fn(&Settings) -> Result<Run, String>;

const CONTENDERS: [(&str, Contender); 8] = [
    ("produce-typed", produce::produce_typed),
    ("produce-raw", produce::produce_raw),
    ("send-typed", produce::send_typed),
    ("send-raw", produce::send_raw),
    ("consume-record", consume::consume_records),
    ("consume-batch", consume::consume_batches),
    ("fill", produce::produce_typed),
    ("calibrate-sleep", consume::calibrate_sleep),
];

fn parse(arguments: &[String]) -> Result<Settings, String> {
    let mut settings = Settings {
        mode: String::new(),
        bootstrap: std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_default(),
        topic: String::new(),
        records: 100_000,
        group: String::new(),
        concurrency: 64,
        batch_size: 500,
        handler_cost: Duration::ZERO,
    };
    for pair in arguments.chunks(2) {
        let [flag, value] = pair else { return Err(format!("{} needs a value", pair[0])) };
        let number = || value.parse::<usize>().map_err(|_| format!("{flag} {value}: not a number"));
        match flag.trim_start_matches('-') {
            "mode" => settings.mode = value.clone(),
            "bootstrap" => settings.bootstrap = value.clone(),
            "topic" => settings.topic = value.clone(),
            "records" => settings.records = number()?,
            "group" => settings.group = value.clone(),
            "concurrency" => settings.concurrency = number()?,
            "batch-size" => settings.batch_size = number()?,
            "handler-cost-us" => settings.handler_cost = Duration::from_micros(number()? as u64),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(settings)
}

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let modes: Vec<&str> = CONTENDERS.iter().map(|(name, _)| *name).collect();
    let settings = match parse(&arguments) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("{message}\nusage: contracts-bench --mode {{{}}} --bootstrap host:port --topic name ...", modes.join(","));
            return ExitCode::from(2);
        }
    };
    let Some((_, contender)) = CONTENDERS.iter().find(|(name, _)| *name == settings.mode) else {
        eprintln!("unknown mode {:?}: use one of {}", settings.mode, modes.join(", "));
        return ExitCode::from(2);
    };
    match contender(&settings) {
        Ok(run) => {
            println!(r#"{{"records": {}, "wall": {}, "cpu": {}}}"#, run.records, run.wall, run.cpu);
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("contracts-bench {}: {message}", settings.mode);
            ExitCode::FAILURE
        }
    }
}
