//! The producer and consumer against a real broker. Skipped (they pass after
//! saying so) unless KAFKA_BOOTSTRAP_SERVERS is set, e.g. by
//! `eval "$(scripts/kafka start)"`; the other KAFKA_* variables apply too, so
//! the same tests run over SASL. Each test makes topics and groups of its own.
#![cfg(feature = "kafka")]

use std::cell::RefCell;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use contracts_runtime::envelope;
use contracts_runtime::kafka::{
    config_from_env, Consumer, ConsumerOptions, Error, Producer, ProducerOptions, RetryPolicy, RunStats,
};
use contracts_runtime::rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use contracts_runtime::rdkafka::client::DefaultClientContext;
use contracts_runtime::rdkafka::consumer::{BaseConsumer, Consumer as _};
use contracts_runtime::rdkafka::message::{Header as KafkaHeader, Headers as _, Message as _, OwnedHeaders};
use contracts_runtime::rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer as _, ThreadedProducer};
use contracts_runtime::rdkafka::{ClientConfig, Offset, TopicPartitionList};
use contracts_runtime::{key, ErrorKind, Record, Settings, Topic};
use prost::Message as _;

#[derive(Clone, PartialEq, prost::Message)]
struct Order {
    #[prost(string, tag = "1")]
    customer_id: String,
    #[prost(int64, tag = "2")]
    amount_cents: i64,
    #[prost(string, repeated, tag = "3")]
    items: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Refund {
    #[prost(string, tag = "1")]
    order_id: String,
}

const SETTINGS: Settings = Settings {
    partitions: Some(3),
    replication_factor: Some(1),
    retention_ms: None,
    cleanup_policy: Some("delete"),
    owner: "team-test",
    producers: &["tests"],
    consumers: &["tests"],
    compatibility: "source",
};

/// Generated code binds a topic in a `const`; the tests need fresh topic
/// names, so they leak one name per topic (a few per test run).
fn order_topic(name: &str) -> Topic<Order> {
    Topic::new(leak(name), "shop.v1.Order", Some(|m: &Order| key::string(&m.customer_id)), SETTINGS)
}

/// A binding of the same topic name to another type: how a wrong type gets in.
fn refund_topic(name: &str) -> Topic<Refund> {
    Topic::new(leak(name), "shop.v1.Refund", None, SETTINGS)
}

fn leak(name: &str) -> &'static str {
    Box::leak(name.to_owned().into_boxed_str())
}

fn order(n: i64) -> Order {
    Order { customer_id: format!("customer-{}", n % 4), amount_cents: n * 100, items: vec![format!("item-{n}")] }
}

/// The environment's config, or `None` (and a note) when no broker is set.
fn broker() -> Option<ClientConfig> {
    if std::env::var_os("KAFKA_BOOTSTRAP_SERVERS").is_none() {
        eprintln!("skipped: KAFKA_BOOTSTRAP_SERVERS is not set (run `eval \"$(scripts/kafka start)\"`)");
        return None;
    }
    Some(config_from_env().expect("KAFKA_* variables"))
}

/// A name no other test or run uses.
fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{nanos}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Creates `name` with `partitions` and `name.dlq` with one partition, and
/// waits until the broker's metadata shows both.
fn create_topics(config: &ClientConfig, name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = config.create().expect("admin client");
    let dlq = format!("{name}.dlq");
    let topics = [
        NewTopic::new(name, partitions, TopicReplication::Fixed(1)),
        NewTopic::new(&dlq, 1, TopicReplication::Fixed(1)),
    ];
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    let results = futures_executor::block_on(admin.create_topics(&topics, &options)).expect("create topics");
    for result in results {
        result.unwrap_or_else(|(topic, code)| panic!("creating {topic}: {code}"));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    for topic in [name, dlq.as_str()] {
        loop {
            let metadata = admin.inner().fetch_metadata(Some(topic), Duration::from_secs(5)).expect("metadata");
            let ready = metadata.topics().iter().any(|found| {
                found.error().is_none() && found.partitions().iter().all(|partition| partition.leader() >= 0)
            });
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "topic {topic} did not appear");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn quick_retries() -> ConsumerOptions {
    ConsumerOptions {
        retry: RetryPolicy { attempts: 3, base_delay: Duration::from_millis(10), max_delay: Duration::from_millis(50) },
        ..ConsumerOptions::default()
    }
}

/// Stops a run once `records` were read, or fails it after 30 s without any.
fn after(records: u64) -> impl FnMut(&RunStats) -> bool {
    move |stats| {
        assert!(stats.idle < Duration::from_secs(30), "no record for 30 s: {stats:?}");
        stats.records >= records
    }
}

/// Writes a record that did not go through the runtime (garbage, no headers...).
fn produce_raw(config: &ClientConfig, topic: &str, value: Option<&[u8]>, headers: &[(&str, &[u8])]) {
    let producer: ThreadedProducer<DefaultProducerContext> = config.create().expect("raw producer");
    let mut owned = OwnedHeaders::new();
    for (key, value) in headers {
        owned = owned.insert(KafkaHeader { key, value: Some(*value) });
    }
    let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic).key(b"raw".as_slice()).headers(owned);
    if let Some(value) = value {
        record = record.payload(value);
    }
    producer.send(record).map_err(|(error, _)| error).expect("raw send");
    producer.flush(Duration::from_secs(10)).expect("raw flush");
}

/// A record read back from a dead-letter topic.
#[derive(Debug)]
struct DeadRecord {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Vec<u8>)>,
}

impl DeadRecord {
    fn header(&self, key: &str) -> Option<&str> {
        self.headers.iter().find(|(name, _)| name == key).map(|(_, value)| std::str::from_utf8(value).unwrap())
    }
}

/// Reads `count` records from partition 0 of `topic`, from the beginning.
fn read_all(config: &ClientConfig, topic: &str, count: usize) -> Vec<DeadRecord> {
    let mut reader_config = config.clone();
    reader_config.set("group.id", unique("reader")).set("enable.auto.commit", "false");
    let reader: BaseConsumer = reader_config.create().expect("reader");
    let mut partitions = TopicPartitionList::new();
    partitions.add_partition_offset(topic, 0, Offset::Beginning).unwrap();
    reader.assign(&partitions).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut records = Vec::new();
    while records.len() < count {
        assert!(Instant::now() < deadline, "read {} of {count} records from {topic}", records.len());
        let Some(result) = reader.poll(Duration::from_millis(200)) else { continue };
        let message = result.expect("read");
        let headers = message.headers().map_or_else(Vec::new, |headers| {
            headers.iter().map(|header| (header.key.to_owned(), header.value.unwrap_or_default().to_vec())).collect()
        });
        records.push(DeadRecord {
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            headers,
        });
    }
    records
}

#[test]
fn produced_records_are_consumed_field_equal() {
    let Some(config) = broker() else { return };
    let name = unique("orders");
    create_topics(&config, &name, 3);
    let topic = order_topic(&name);

    let producer = Producer::from_env().expect("producer");
    let sent: Vec<Order> = (0..12).map(order).collect();
    let pending: Vec<_> = sent.iter().map(|message| producer.send_async(&topic, message).expect("enqueue")).collect();
    for delivery in pending {
        let delivery = delivery.wait().expect("delivered");
        assert!((0..3).contains(&delivery.partition) && delivery.offset >= 0, "{delivery:?}");
    }
    let last = producer.send(&topic, &order(12)).expect("send");
    assert!(last.offset >= 0);
    producer.close().expect("close");

    let consumer = Consumer::from_env(&unique("group")).expect("consumer");
    let received: RefCell<Vec<Record<Order>>> = RefCell::new(Vec::new());
    let stats = consumer
        .run(
            &topic,
            |record| {
                received.borrow_mut().push(record);
                Ok::<(), String>(())
            },
            after(13),
        )
        .expect("run");
    assert_eq!((stats.records, stats.handled, stats.dead_lettered), (13, 13, 0));

    let mut received = received.into_inner();
    received.sort_by_key(|record| record.message.amount_cents);
    let messages: Vec<Order> = received.iter().map(|record| record.message.clone()).collect();
    assert_eq!(messages, (0..13).map(order).collect::<Vec<_>>());
    for record in &received {
        assert_eq!(record.topic, name);
        assert_eq!(record.key.as_deref(), Some(record.message.customer_id.as_bytes()));
        assert_eq!(record.header(envelope::CE_TYPE), Some(b"shop.v1.Order".as_slice()));
        assert_eq!(record.header(envelope::CONTENT_TYPE), Some(b"application/protobuf".as_slice()));
        assert_eq!(record.source.as_deref(), Some("contracts"));
        assert!(record.id.as_ref().is_some_and(|id| id.len() > 33));
        let (timestamp, time) = (record.timestamp.expect("Kafka timestamp"), record.time.expect("ce_time"));
        let apart = timestamp.duration_since(time).unwrap_or_else(|error| error.duration());
        assert!(apart < Duration::from_secs(5), "ce_time and the Kafka timestamp are {apart:?} apart");
    }
    // Same key, same partition.
    for a in &received {
        for b in &received {
            if a.message.customer_id == b.message.customer_id {
                assert_eq!(a.partition, b.partition);
            }
        }
    }
}

#[test]
fn records_of_another_type_or_undecodable_are_dead_lettered_and_later_ones_processed() {
    let Some(config) = broker() else { return };
    let name = unique("mixed");
    create_topics(&config, &name, 1);
    let topic = order_topic(&name);
    let producer =
        Producer::with_options(config.clone(), ProducerOptions { source: "svc-shop".into(), ..Default::default() })
            .expect("producer");

    producer.send(&topic, &order(1)).expect("good 1");
    producer.send(&refund_topic(&name), &Refund { order_id: "o-1".into() }).expect("wrong type");
    produce_raw(
        &config,
        &name,
        Some(b"\xff\xff\xff"),
        &[(envelope::CE_TYPE, b"shop.v1.Order"), ("traceparent", b"00-abc")],
    );
    produce_raw(&config, &name, Some(&order(9).encode_to_vec()), &[]);
    produce_raw(&config, &name, None, &[(envelope::CE_TYPE, b"shop.v1.Order")]);
    producer.send(&topic, &order(2)).expect("good 2");

    let group = unique("group");
    let handled = RefCell::new(Vec::new());
    let consumer = Consumer::with_options(&group, config.clone(), quick_retries()).expect("consumer");
    let stats = consumer
        .run(
            &topic,
            |record: Record<Order>| {
                handled.borrow_mut().push((record.message, record.offset));
                Ok::<(), String>(())
            },
            after(6),
        )
        .expect("run");
    assert_eq!((stats.records, stats.handled, stats.dead_lettered), (6, 2, 4));
    assert_eq!(handled.into_inner(), vec![(order(1), 0), (order(2), 5)]);

    let dead = read_all(&config, &format!("{name}.dlq"), 4);
    let reasons: Vec<_> = dead.iter().map(|record| record.header(envelope::DLQ_REASON).unwrap()).collect();
    assert_eq!(reasons, ["wrong-type", "decode", "wrong-type", "decode"]);
    let offsets: Vec<_> = dead.iter().map(|record| record.header(envelope::DLQ_OFFSET).unwrap()).collect();
    assert_eq!(offsets, ["1", "2", "3", "4"]);
    for record in &dead {
        assert_eq!(record.header(envelope::DLQ_TOPIC), Some(name.as_str()));
        assert_eq!(record.header(envelope::DLQ_PARTITION), Some("0"));
        assert_eq!(record.header(envelope::DLQ_GROUP), Some(group.as_str()));
        assert!(!record.header(envelope::DLQ_ERROR).unwrap().contains('\n'));
        assert_eq!(record.header(envelope::DLQ_ATTEMPTS), Some("0"));
        assert_eq!(record.header(envelope::DLQ_FIRST_FAILURE_TIME), record.header(envelope::DLQ_LAST_FAILURE_TIME));
        assert!(record.header(envelope::DLQ_FIRST_FAILURE_TIME).is_some_and(|time| time.ends_with('Z')));
    }

    let wrong_type = &dead[0];
    assert_eq!(wrong_type.value.as_deref(), Some(Refund { order_id: "o-1".into() }.encode_to_vec().as_slice()));
    assert_eq!(wrong_type.key, None);
    assert_eq!(wrong_type.header(envelope::CE_TYPE), Some("shop.v1.Refund"));
    assert_eq!(wrong_type.header(envelope::CE_SOURCE), Some("svc-shop"));
    assert_eq!(
        wrong_type.header(envelope::DLQ_ERROR),
        Some(r#"wrong message type: expected ce_type "shop.v1.Order", got "shop.v1.Refund""#)
    );

    let garbage = &dead[1];
    assert_eq!(garbage.value.as_deref(), Some(b"\xff\xff\xff".as_slice()));
    assert_eq!(garbage.key.as_deref(), Some(b"raw".as_slice()));
    assert_eq!(garbage.header("traceparent"), Some("00-abc"));
    assert!(garbage.header(envelope::DLQ_ERROR).unwrap().starts_with("value is not a valid shop.v1.Order message"));

    assert_eq!(
        dead[2].header(envelope::DLQ_ERROR),
        Some(r#"wrong message type: expected ce_type "shop.v1.Order", got no ce_type header"#)
    );
    assert_eq!(dead[3].value, None, "a null value stays null");

    // Everything was committed: the group starts after the last record.
    consumer.close().expect("close");
    let again = Consumer::with_options(&group, config.clone(), quick_retries()).expect("consumer again");
    let stats = again
        .run(&topic, |_| Ok::<(), String>(()), |stats| stats.idle > Duration::from_secs(4) || stats.records > 0)
        .expect("run again");
    assert_eq!(stats.records, 0, "records replayed after a clean close");
}

#[test]
fn a_failing_handler_is_retried_then_dead_lettered() {
    let Some(config) = broker() else { return };
    let name = unique("retries");
    create_topics(&config, &name, 1);
    let topic = order_topic(&name);
    let producer = Producer::new(config.clone()).expect("producer");
    for n in 1..=3 {
        producer.send(&topic, &order(n)).expect("send");
    }

    // Order 1 fails once then succeeds; order 2 always fails; order 3 succeeds.
    let tries = RefCell::new(Vec::new());
    let handled = RefCell::new(Vec::new());
    let consumer = Consumer::with_options(&unique("group"), config.clone(), quick_retries()).expect("consumer");
    let stats = consumer
        .run(
            &topic,
            |record: Record<Order>| {
                let message = record.message;
                tries.borrow_mut().push(message.amount_cents / 100);
                let attempt = tries.borrow().iter().filter(|&&n| n == message.amount_cents / 100).count();
                match message.amount_cents / 100 {
                    1 if attempt == 1 => Err("database busy".to_owned()),
                    2 => Err(format!("order {} is invalid:\ncustomer unknown", message.amount_cents / 100)),
                    _ => {
                        handled.borrow_mut().push(message);
                        Ok(())
                    }
                }
            },
            after(3),
        )
        .expect("run");
    assert_eq!((stats.records, stats.handled, stats.dead_lettered), (3, 2, 1));
    assert_eq!(tries.into_inner(), vec![1, 1, 2, 2, 2, 3]);
    assert_eq!(handled.into_inner(), vec![order(1), order(3)]);

    let dead = read_all(&config, &format!("{name}.dlq"), 1);
    assert_eq!(dead[0].header(envelope::DLQ_REASON), Some("handler"));
    assert_eq!(dead[0].header(envelope::DLQ_ERROR), Some("order 2 is invalid: customer unknown"));
    assert_eq!(dead[0].header(envelope::DLQ_ATTEMPTS), Some("3"));
    assert!(dead[0].header(envelope::DLQ_FIRST_FAILURE_TIME) < dead[0].header(envelope::DLQ_LAST_FAILURE_TIME));
    assert_eq!(dead[0].header(envelope::DLQ_OFFSET), Some("1"));
    assert_eq!(dead[0].value.as_deref(), Some(order(2).encode_to_vec().as_slice()));
}

#[test]
fn batches_hold_at_most_max_records_and_skip_bad_records() {
    let Some(config) = broker() else { return };
    let name = unique("batches");
    create_topics(&config, &name, 1);
    let topic = order_topic(&name);
    let producer = Producer::new(config.clone()).expect("producer");
    let pending: Vec<_> = (0..20).map(|n| producer.send_async(&topic, &order(n)).expect("enqueue")).collect();
    for delivery in pending {
        delivery.wait().expect("delivered");
    }
    produce_raw(&config, &name, Some(b"\x08"), &[(envelope::CE_TYPE, b"shop.v1.Order")]);
    for n in 20..25 {
        producer.send(&topic, &order(n)).expect("send");
    }

    let batches = RefCell::new(Vec::new());
    let consumer = Consumer::with_options(&unique("group"), config.clone(), quick_retries()).expect("consumer");
    let stats = consumer
        .run_batch(
            &topic,
            |batch: Vec<Record<Order>>| {
                batches.borrow_mut().push(batch);
                Ok::<(), String>(())
            },
            10,
            Duration::from_millis(500),
            after(26),
        )
        .expect("run_batch");
    assert_eq!((stats.records, stats.handled, stats.dead_lettered), (26, 25, 1));
    let batches = batches.into_inner();
    assert!(batches.iter().all(|batch| !batch.is_empty() && batch.len() <= 10), "{:?}", sizes(&batches));
    let messages: Vec<Order> = batches.into_iter().flatten().map(|record| record.message).collect();
    assert_eq!(messages, (0..25).map(order).collect::<Vec<_>>());
    let dead = read_all(&config, &format!("{name}.dlq"), 1);
    assert_eq!(dead[0].header(envelope::DLQ_REASON), Some("decode"));
    assert_eq!(dead[0].header(envelope::DLQ_OFFSET), Some("20"));
}

#[test]
fn a_failing_batch_is_retried_record_by_record_and_only_the_bad_one_is_dead_lettered() {
    let Some(config) = broker() else { return };
    let name = unique("bad-batch");
    create_topics(&config, &name, 1);
    let topic = order_topic(&name);
    let producer = Producer::new(config.clone()).expect("producer");
    for n in 0..4 {
        producer.send(&topic, &order(n)).expect("send");
    }
    // Order 2 always fails, so every call that contains it does.
    let calls: RefCell<Vec<Vec<i64>>> = RefCell::new(Vec::new());
    let handled = RefCell::new(Vec::new());
    let consumer = Consumer::with_options(&unique("group"), config.clone(), quick_retries()).expect("consumer");
    let stats = consumer
        .run_batch(
            &topic,
            |batch: Vec<Record<Order>>| {
                let numbers: Vec<i64> = batch.iter().map(|record| record.message.amount_cents / 100).collect();
                calls.borrow_mut().push(numbers.clone());
                if numbers.contains(&2) {
                    return Err(format!("downstream rejected order 2 of {}", batch.len()));
                }
                handled.borrow_mut().extend(numbers);
                Ok(())
            },
            4,
            Duration::from_secs(2),
            after(4),
        )
        .expect("run_batch");
    assert_eq!((stats.records, stats.handled, stats.dead_lettered), (4, 3, 1));
    let calls = calls.into_inner();
    let whole: Vec<i64> = (0..4).collect();
    assert_eq!(calls[..3], [whole.clone(), whole.clone(), whole], "the batch is called `attempts` times");
    assert_eq!(calls[3..], [vec![0], vec![1], vec![2], vec![2], vec![2], vec![3]], "then each record alone");
    assert_eq!(handled.into_inner(), vec![0, 1, 3]);
    let dead = read_all(&config, &format!("{name}.dlq"), 1);
    assert_eq!(dead[0].header(envelope::DLQ_REASON), Some("handler"));
    assert_eq!(dead[0].header(envelope::DLQ_OFFSET), Some("2"));
    assert_eq!(dead[0].header(envelope::DLQ_ATTEMPTS), Some("6"), "3 calls as a batch, 3 alone");
    assert_eq!(dead[0].header(envelope::DLQ_ERROR), Some("downstream rejected order 2 of 1"));
}

#[test]
fn a_record_dead_lettered_again_gets_a_new_header_set_with_its_first_failure_time() {
    let Some(config) = broker() else { return };
    let name = unique("replayed");
    create_topics(&config, &name, 1);
    let earlier: [(&str, &[u8]); 5] = [
        (envelope::CE_TYPE, b"shop.v1.Order"),
        (envelope::DLQ_REASON, b"handler"),
        (envelope::DLQ_ATTEMPTS, b"3"),
        (envelope::DLQ_FIRST_FAILURE_TIME, b"2020-01-01T00:00:00.000Z"),
        (envelope::DLQ_LAST_FAILURE_TIME, b"2020-01-01T00:00:01.000Z"),
    ];
    produce_raw(&config, &name, Some(b"\xff"), &earlier);
    let consumer = Consumer::with_options(&unique("group"), config.clone(), quick_retries()).expect("consumer");
    consumer.run(&order_topic(&name), |_| Ok::<(), String>(()), after(1)).expect("run");
    let dead = read_all(&config, &format!("{name}.dlq"), 1);
    let dlq_headers: Vec<&str> = dead[0]
        .headers
        .iter()
        .map(|(key, _)| key.as_str())
        .filter(|key| key.starts_with(envelope::DLQ_HEADER_PREFIX))
        .collect();
    assert_eq!(dlq_headers.len(), 9, "{dlq_headers:?}");
    assert_eq!(dead[0].header(envelope::DLQ_REASON), Some("decode"));
    assert_eq!(dead[0].header(envelope::DLQ_ATTEMPTS), Some("0"));
    assert_eq!(dead[0].header(envelope::DLQ_FIRST_FAILURE_TIME), Some("2020-01-01T00:00:00.000Z"));
    assert!(dead[0].header(envelope::DLQ_LAST_FAILURE_TIME).unwrap() > "2026");
}

#[test]
fn missing_topics_fail_with_a_clear_error() {
    let Some(config) = broker() else { return };
    let producer = Producer::new(config.clone()).expect("producer");
    let missing = order_topic(&unique("missing"));
    let started = Instant::now();
    let error = producer.send(&missing, &order(1)).expect_err("no such topic");
    assert!(matches!(error, Error::UnknownTopic { .. }), "{error:?}");
    assert!(error.to_string().contains("does not exist"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(15));

    let consumer = Consumer::new(&unique("group"), config.clone()).expect("consumer");
    let error = consumer.run(&missing, |_| Ok::<(), String>(()), |_| false).expect_err("no such topic");
    assert!(matches!(&error, Error::UnknownTopic { topic, .. } if topic == missing.name()), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Config);

    // A topic without its dead-letter topic is refused before anything is consumed.
    let name = unique("no-dlq");
    let admin: AdminClient<DefaultClientContext> = config.create().unwrap();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    let created = futures_executor::block_on(
        admin.create_topics(&[NewTopic::new(&name, 1, TopicReplication::Fixed(1))], &options),
    );
    created.unwrap().remove(0).unwrap();
    let error = consumer.run(&order_topic(&name), |_| Ok::<(), String>(()), |_| false).expect_err("no dlq topic");
    assert!(matches!(&error, Error::UnknownTopic { topic, .. } if *topic == format!("{name}.dlq")), "{error:?}");
}

/// Needs no broker: nothing listens on the port, which refuses at once.
#[test]
fn a_refused_port_fails_at_once_with_a_connection_error() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", format!("127.0.0.1:{port}"));

    let started = Instant::now();
    let error = Producer::new(config.clone()).err().expect("no broker");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert!(matches!(error, Error::Connection { .. }), "{error:?}");
    assert_eq!(error.kind().name(), "ConnectionError");
    let text = error.to_string();
    assert!(text.contains(&format!("could not connect to Kafka at 127.0.0.1:{port}")), "{text}");
    assert!(text.contains("Connection refused"), "{text}");

    let started = Instant::now();
    let error = Consumer::new("group", config).err().expect("no broker");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(error.kind(), ErrorKind::Connection, "{error:?}");
}

/// Needs no broker: a listener that accepts and never answers.
#[test]
fn a_silent_broker_fails_within_the_connect_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", format!("127.0.0.1:{}", listener.local_addr().unwrap().port()));
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let options = ProducerOptions { connect_timeout: timeout, ..Default::default() };
    let error = Producer::with_options(config, options).err().expect("no answer");
    let elapsed = started.elapsed();
    assert!(elapsed >= timeout && elapsed < timeout + Duration::from_secs(2), "{elapsed:?}");
    assert!(error.to_string().contains("no broker answered within 2s"), "{error}");
    drop(listener);
}

/// Over SASL (`scripts/kafka start --sasl`): a wrong password fails at once.
#[test]
fn refused_credentials_fail_at_once() {
    let Some(config) = broker() else { return };
    if config.get("sasl.username").is_none() {
        eprintln!("skipped: the broker does not use SASL");
        return;
    }
    let mut wrong = config.clone();
    wrong.set("sasl.password", "not-the-password");
    let started = Instant::now();
    let error = Producer::new(wrong).err().expect("refused credentials");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(error.kind(), ErrorKind::Connection, "{error:?}");
    assert!(error.to_string().contains("authentication failed"), "{error}");
}

fn sizes(batches: &[Vec<Record<Order>>]) -> Vec<usize> {
    batches.iter().map(Vec::len).collect()
}
