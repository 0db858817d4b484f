//! `/livez`, `/readyz` and `/metrics` (feature `health`; `docs/runtime.md`,
//! "Health"). Every answer is computed from state the clients keep as they
//! work, never by calling into a client that may be busy polling, so it comes
//! at once whatever the consumer is doing. A probe thread asks the brokers for
//! metadata through the client's producer (never the polling consumer), so a
//! consumer whose handler blocks still counts as connected while brokers answer.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use contracts_runtime::health::HealthServer;
//! let consumer = contracts_runtime::Consumer::from_env("svc-search")?;
//! let server = HealthServer::start("0.0.0.0:8080", vec![consumer.health()])?;
//! // consumer.run(...) on this thread; server.close() when done.
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rdkafka::producer::{Producer as _, ThreadedProducer};

use crate::kafka::state::ClientState;
use crate::kafka::{Context, Producer};
use crate::metrics::Metrics;

/// The result of one check, served as `{"healthy": …, "detail": …, "checks": {…}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub healthy: bool,
    pub detail: String,
    pub checks: BTreeMap<String, String>,
}

impl Health {
    fn new(healthy: bool, detail: impl Into<String>) -> Self {
        Self { healthy, detail: detail.into(), checks: BTreeMap::new() }
    }

    /// The JSON body of an answer.
    pub fn to_json(&self) -> String {
        let checks: Vec<String> =
            self.checks.iter().map(|(name, value)| format!("{}:{}", json_string(name), json_string(value))).collect();
        format!(
            r#"{{"healthy":{},"detail":{},"checks":{{{}}}}}"#,
            self.healthy,
            json_string(&self.detail),
            checks.join(",")
        )
    }
}

/// The bounds of the checks; the defaults are those of `docs/runtime.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthOptions {
    /// `/livez` fails when no broker answered for this long (and the client
    /// started longer ago than this).
    pub live_window: Duration,
    /// A partition is stuck when it has records past its committed offset and
    /// that offset has not moved for this long, or the handler in flight has
    /// run this long.
    pub stuck_after: Duration,
    /// How often the probe asks a broker for metadata.
    pub probe_interval: Duration,
}

impl Default for HealthOptions {
    fn default() -> Self {
        Self {
            live_window: Duration::from_secs(30),
            stuck_after: Duration::from_secs(30),
            probe_interval: Duration::from_secs(5),
        }
    }
}

/// What the checks read of one client: [`crate::Consumer::health`] or
/// [`crate::Producer::health`].
#[derive(Clone)]
pub struct HealthSource {
    name: &'static str,
    state: Arc<ClientState>,
    probe: Arc<ThreadedProducer<Context>>,
    metrics: Metrics,
    consumer: bool,
}

impl HealthSource {
    pub(crate) fn consumer(state: Arc<ClientState>, dead_letters: &Producer) -> Self {
        let probe = dead_letters.shared();
        let metrics = probe.context().metrics.clone();
        Self { name: "consumer", state, probe, metrics, consumer: true }
    }

    pub(crate) fn producer(producer: &Producer) -> Self {
        let probe = producer.shared();
        let state = Arc::clone(&probe.context().state);
        let metrics = probe.context().metrics.clone();
        Self { name: "producer", state, probe, metrics, consumer: false }
    }

    /// Connected: a broker answered within `live_window`, or the client is younger than that.
    pub fn liveness(&self, options: &HealthOptions) -> Health {
        let window = options.live_window;
        match self.state.last_answer() {
            Some(answered) if answered.elapsed() < window => {
                Health::new(true, format!("{}: a broker answered {} ms ago", self.name, answered.elapsed().as_millis()))
            }
            _ if self.state.started.elapsed() < window => {
                Health::new(true, format!("{}: started {} s ago", self.name, self.state.started.elapsed().as_secs()))
            }
            last => {
                let since = last.map_or_else(|| "ever".to_owned(), |at| format!("for {} s", at.elapsed().as_secs()));
                let error = self.state.last_error().map(|error| format!(" (last error: {})", error.reason));
                Health::new(false, format!("{}: no broker answered {since}{}", self.name, error.unwrap_or_default()))
            }
        }
    }

    /// Progressing: no assigned partition is stuck (a producer always is).
    pub fn readiness(&self, options: &HealthOptions) -> Health {
        if !self.consumer {
            return Health::new(true, format!("{}: nothing to be stuck on", self.name));
        }
        let stuck_after = options.stuck_after;
        let mut health = Health::new(true, "");
        let mut stuck = Vec::new();
        if let Some(since) = self.state.in_flight_since().filter(|since| since.elapsed() >= stuck_after) {
            health.checks.insert("handler".into(), format!("running for {} s", since.elapsed().as_secs()));
            stuck.push("the handler in flight".to_owned());
        }
        for ((topic, partition), state) in self.state.partitions() {
            let name = format!("{topic}[{partition}]");
            let committed = state.committed.max(0);
            let text = if state.end < 0 {
                "end not known yet".to_owned()
            } else if state.end > committed && state.committed_moved.elapsed() >= stuck_after {
                stuck.push(name.clone());
                format!("stuck at {committed} for {} s, end {}", state.committed_moved.elapsed().as_secs(), state.end)
            } else {
                format!("committed {committed} of {}", state.end)
            };
            health.checks.insert(name, text);
        }
        if stuck.is_empty() {
            health.detail =
                format!("{}: {} partition(s) progressing or caught up", self.name, self.state.partitions().len());
        } else {
            health.healthy = false;
            health.detail = format!("{}: no progress on {}", self.name, stuck.join(", "));
        }
        health
    }

    fn probe(&self, timeout: Duration) {
        if self.probe.client().fetch_metadata(None, timeout).is_ok() {
            self.state.answered();
        }
    }
}

/// Serves `/livez`, `/readyz` and `/metrics` from a thread of its own.
pub struct HealthServer {
    server: Arc<tiny_http::Server>,
    address: SocketAddr,
    threads: Vec<JoinHandle<()>>,
    stop_probe: Sender<()>,
}

impl HealthServer {
    /// Listens on `address` (e.g. `0.0.0.0:8080`; port 0 picks a free one).
    pub fn start(address: &str, sources: Vec<HealthSource>) -> Result<Self, crate::Error> {
        Self::start_with(address, sources, HealthOptions::default())
    }

    pub fn start_with(address: &str, sources: Vec<HealthSource>, options: HealthOptions) -> Result<Self, crate::Error> {
        if sources.is_empty() {
            return Err(crate::Error::Config("a health server needs a consumer or a producer to check".into()));
        }
        let server = tiny_http::Server::http(address)
            .map_err(|error| crate::Error::Config(format!("health server on {address}: {error}")))?;
        let address = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| crate::Error::Config(format!("health server on {address}: not an IP address")))?;
        let server = Arc::new(server);
        let sources = Arc::new(sources);
        let serving = {
            let (server, sources) = (Arc::clone(&server), Arc::clone(&sources));
            thread::Builder::new()
                .name("contracts-health".into())
                .spawn(move || {
                    for request in server.incoming_requests() {
                        let (status, content_type, body) = answer(request.url(), &sources, &options);
                        let header = tiny_http::Header::from_bytes("Content-Type", content_type)
                            .expect("a static header is valid");
                        let response =
                            tiny_http::Response::from_string(body).with_status_code(status).with_header(header);
                        // A client that went away is its own business.
                        let _ = request.respond(response);
                    }
                })
                .map_err(|error| crate::Error::Config(format!("health server thread: {error}")))?
        };
        let (stop_probe, stopped) = mpsc::channel();
        let probing = thread::Builder::new()
            .name("contracts-health-probe".into())
            .spawn(move || loop {
                for source in sources.iter() {
                    source.probe(options.probe_interval.max(Duration::from_secs(1)));
                }
                match stopped.recv_timeout(options.probe_interval) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
            })
            .map_err(|error| crate::Error::Config(format!("health probe thread: {error}")))?;
        Ok(Self { server, address, threads: vec![serving, probing], stop_probe })
    }

    /// Where the server listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Stops serving and waits for the server's threads.
    pub fn close(self) {
        self.server.unblock();
        let _ = self.stop_probe.send(());
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

/// Status, content type and body of the answer to `url`.
fn answer(url: &str, sources: &[HealthSource], options: &HealthOptions) -> (u16, &'static str, String) {
    let path = url.split('?').next().unwrap_or_default();
    let check: fn(&HealthSource, &HealthOptions) -> Health = match path {
        "/livez" => HealthSource::liveness,
        "/readyz" => HealthSource::readiness,
        "/metrics" => return (200, "text/plain; version=0.0.4; charset=utf-8", sources[0].metrics.render()),
        _ => return (404, "text/plain", "not found\n".to_owned()),
    };
    let results: Vec<Health> = sources.iter().map(|source| check(source, options)).collect();
    let mut health = Health::new(results.iter().all(|result| result.healthy), "");
    health.detail = results.iter().map(|result| result.detail.as_str()).collect::<Vec<_>>().join("; ");
    for result in results {
        health.checks.extend(result.checks);
    }
    (if health.healthy { 200 } else { 503 }, "application/json", health.to_json() + "\n")
}

fn json_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(quoted, "\\u{:04x}", u32::from(c));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_json() {
        let mut health = Health::new(false, "no \"progress\"\n");
        health.checks.insert("t[0]".into(), "stuck at 3\u{1}".into());
        assert_eq!(
            health.to_json(),
            r#"{"healthy":false,"detail":"no \"progress\"\n","checks":{"t[0]":"stuck at 3\u0001"}}"#
        );
    }
}
