//! /livez, /readyz and /metrics against a real broker while the consumer is
//! busy (feature `health`: `cargo test --all-features`). Skipped unless
//! KAFKA_BOOTSTRAP_SERVERS is set, like tests/kafka.rs.
#![cfg(feature = "health")]

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use contracts_runtime::health::{HealthOptions, HealthServer};
use contracts_runtime::kafka::{config_from_env, ConsumerOptions, Producer};
use contracts_runtime::metrics::Metrics;
use contracts_runtime::prometheus::Registry;
use contracts_runtime::rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use contracts_runtime::rdkafka::client::DefaultClientContext;
use contracts_runtime::rdkafka::ClientConfig;
use contracts_runtime::{key, Consumer, Record, Settings, Topic};

#[derive(Clone, PartialEq, prost::Message)]
struct Ping {
    #[prost(string, tag = "1")]
    id: String,
}

const SETTINGS: Settings = Settings {
    partitions: Some(1),
    replication_factor: Some(1),
    retention_ms: None,
    cleanup_policy: None,
    owner: "team-test",
    producers: &[],
    consumers: &[],
    compatibility: "source",
};

/// How long each busy consumer is probed, and how often (docs/runtime.md: every answer within 1 s).
const PROBE_FOR: Duration = Duration::from_secs(20);
const PROBE_EVERY: Duration = Duration::from_millis(100);
const ANSWER_WITHIN: Duration = Duration::from_secs(1);

fn broker() -> Option<ClientConfig> {
    if std::env::var_os("KAFKA_BOOTSTRAP_SERVERS").is_none() {
        eprintln!("skipped: KAFKA_BOOTSTRAP_SERVERS is not set (run `eval \"$(scripts/kafka start)\"`)");
        return None;
    }
    Some(config_from_env().expect("KAFKA_* variables"))
}

fn topic(prefix: &str, config: &ClientConfig) -> Topic<Ping> {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    let name: &'static str = Box::leak(format!("{prefix}-{}-{nanos}", std::process::id()).into_boxed_str());
    let admin: AdminClient<DefaultClientContext> = config.create().expect("admin");
    let dlq = format!("{name}.dlq");
    let topics =
        [NewTopic::new(name, 1, TopicReplication::Fixed(1)), NewTopic::new(&dlq, 1, TopicReplication::Fixed(1))];
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    for result in futures_executor::block_on(admin.create_topics(&topics, &options)).expect("create topics") {
        result.expect("topic created");
    }
    Topic::new(name, "test.v1.Ping", Some(|m: &Ping| key::string(&m.id)), SETTINGS)
}

/// (status, body) of GET `path`, failing the test if it takes longer than a second.
fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let started = Instant::now();
    let mut stream = TcpStream::connect_timeout(&address, ANSWER_WITHIN).expect("connect");
    stream.set_read_timeout(Some(ANSWER_WITHIN)).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap_or_else(|error| panic!("GET {path}: no answer: {error}"));
    assert!(started.elapsed() < ANSWER_WITHIN, "GET {path} took {:?}", started.elapsed());
    let status = response.split(' ').nth(1).and_then(|code| code.parse().ok()).expect("a status line");
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (status, body)
}

/// Probes /livez and /readyz every 100 ms for 20 s; returns the /readyz statuses.
fn probe(address: SocketAddr) -> Vec<(Duration, u16)> {
    let started = Instant::now();
    let mut ready = Vec::new();
    while started.elapsed() < PROBE_FOR {
        let (live, body) = get(address, "/livez");
        assert_eq!(live, 200, "{body}");
        assert!(body.starts_with(r#"{"healthy":true,"detail":"#), "{body}");
        ready.push((started.elapsed(), get(address, "/readyz").0));
        thread::sleep(PROBE_EVERY);
    }
    ready
}

fn options(metrics: &Metrics) -> ConsumerOptions {
    ConsumerOptions { metrics: metrics.clone(), ..ConsumerOptions::default() }
}

#[test]
fn answers_come_within_a_second_while_the_handler_blocks_and_readyz_sees_it_stuck() {
    let Some(config) = broker() else { return };
    let topic = topic("health-blocked", &config);
    let producer = Producer::new(config.clone()).expect("producer");
    for id in ["block", "after"] {
        producer.send(&topic, &Ping { id: id.into() }).expect("send");
    }
    let metrics = Metrics::new(&Registry::new()).unwrap();
    let consumer = Consumer::with_options("health-blocked", config, options(&metrics)).expect("consumer");
    let stuck_after = Duration::from_secs(3);
    let health = HealthOptions { stuck_after, ..HealthOptions::default() };
    let server = HealthServer::start_with("127.0.0.1:0", vec![consumer.health()], health).expect("server");
    let address = server.local_addr();
    let blocking = Arc::new(AtomicBool::new(false));
    let stop = consumer.stop_handle();
    let ready = thread::scope(|scope| {
        let blocking_flag = Arc::clone(&blocking);
        let running = scope.spawn(|| {
            let handler = move |record: Record<Ping>| {
                if record.message.id == "block" {
                    blocking_flag.store(true, Ordering::SeqCst);
                    thread::sleep(PROBE_FOR + Duration::from_secs(1));
                }
                Ok::<(), String>(())
            };
            consumer.run(&topic, handler, |stats| stats.handled >= 2).expect("run")
        });
        while !blocking.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(20));
        }
        let ready = probe(address);
        stop.stop();
        running.join().expect("consumer thread");
        ready
    });
    // Ready while the handler is young, 503 once it ran past stuck_after.
    let early: Vec<u16> =
        ready.iter().filter(|(at, _)| *at < stuck_after - Duration::from_millis(500)).map(|r| r.1).collect();
    let late: Vec<u16> =
        ready.iter().filter(|(at, _)| *at > stuck_after + Duration::from_secs(1)).map(|r| r.1).collect();
    assert!(!early.is_empty() && early.iter().all(|status| *status == 200), "{ready:?}");
    assert!(!late.is_empty() && late.iter().all(|status| *status == 503), "{ready:?}");
    let (status, text) = get(address, "/metrics");
    assert_eq!(status, 200);
    assert!(text.contains(&format!("contracts_records_consumed_total{{topic=\"{}\"}} 1", topic.name())), "{text}");
    assert!(text.contains("contracts_handle_duration_seconds_bucket{"), "{text}");
    server.close();
}

#[test]
fn answers_come_within_a_second_during_a_long_poll_on_an_idle_topic() {
    let Some(config) = broker() else { return };
    let topic = topic("health-idle", &config);
    let metrics = Metrics::new(&Registry::new()).unwrap();
    let consumer = Consumer::with_options("health-idle", config, options(&metrics)).expect("consumer");
    let server = HealthServer::start("127.0.0.1:0", vec![consumer.health()]).expect("server");
    let address = server.local_addr();
    let stop = consumer.stop_handle();
    let ready = thread::scope(|scope| {
        let running =
            scope.spawn(|| consumer.run(&topic, |_: Record<Ping>| Ok::<(), String>(()), |_| false).expect("run"));
        let ready = probe(address);
        stop.stop();
        assert_eq!(running.join().expect("consumer thread").records, 0);
        ready
    });
    assert!(ready.iter().all(|(_, status)| *status == 200), "a consumer with nothing to do is ready: {ready:?}");
    let (_, body) = get(address, "/readyz");
    assert!(body.contains(&format!("\"{}[0]\"", topic.name())), "the assigned partition is checked: {body}");
    server.close();
}

#[test]
fn consumer_lag_is_the_records_left_per_partition() {
    let Some(config) = broker() else { return };
    let topic = topic("health-lag", &config);
    let producer = Producer::new(config.clone()).expect("producer");
    for n in 0..10 {
        producer.send(&topic, &Ping { id: format!("p-{n}") }).expect("send");
    }
    let metrics = Metrics::new(&Registry::new()).unwrap();
    let consumer = Consumer::with_options("health-lag", config, options(&metrics)).expect("consumer");
    // Slow records, so that statistics (every second) report the partition's end meanwhile.
    let handler = |_: Record<Ping>| {
        thread::sleep(Duration::from_millis(700));
        Ok::<(), String>(())
    };
    consumer.run(&topic, handler, |stats| stats.handled >= 4).expect("run");
    let line = format!("contracts_consumer_lag_records{{partition=\"0\",topic=\"{}\"}} 6", topic.name());
    let text = metrics.render();
    assert!(text.lines().any(|found| found == line), "{line} not in\n{text}");
    consumer.close().expect("close");
    assert!(!metrics.render().contains("contracts_consumer_lag_records{"), "dropped on close");
}
