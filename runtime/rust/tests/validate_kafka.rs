//! Field rules on a real broker (feature `validate`): `send` refuses an
//! invalid message in mode Reject, consumers dead-letter invalid records with
//! their violations, mode Off hands them to the handler. Skipped unless
//! KAFKA_BOOTSTRAP_SERVERS is set.
#![cfg(all(feature = "validate", feature = "kafka"))]

#[allow(clippy::all, clippy::pedantic, dead_code)]
mod validation_v1 {
    include!("fixtures/validation.v1.rs");
}

use std::cell::RefCell;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use contracts_runtime::envelope;
use contracts_runtime::kafka::{config_from_env, Consumer, Producer, RunStats};
use contracts_runtime::rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use contracts_runtime::rdkafka::client::DefaultClientContext;
use contracts_runtime::rdkafka::consumer::{BaseConsumer, Consumer as _};
use contracts_runtime::rdkafka::message::{Headers as _, Message as _};
use contracts_runtime::rdkafka::{ClientConfig, Offset, TopicPartitionList};
use contracts_runtime::{key, ErrorKind, Record, Settings, Topic, Validation};
use validation_v1::{Plan, Signup};

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

fn broker() -> Option<ClientConfig> {
    if std::env::var_os("KAFKA_BOOTSTRAP_SERVERS").is_none() {
        eprintln!("skipped: KAFKA_BOOTSTRAP_SERVERS is not set (run `eval \"$(scripts/kafka start)\"`)");
        return None;
    }
    Some(config_from_env().expect("KAFKA_* variables"))
}

/// A fresh Signup topic (and its .dlq) in `mode`, keyed by user id.
fn signup_topic(config: &ClientConfig, mode: Validation) -> Topic<Signup> {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let name: &'static str = Box::leak(format!("validate-{}-{nanos}", mode.as_str().to_lowercase()).into_boxed_str());
    let admin: AdminClient<DefaultClientContext> = config.create().expect("admin client");
    let dlq = format!("{name}.dlq");
    let topics =
        [NewTopic::new(name, 1, TopicReplication::Fixed(1)), NewTopic::new(&dlq, 1, TopicReplication::Fixed(1))];
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    for result in futures_executor::block_on(admin.create_topics(&topics, &options)).expect("create topics") {
        result.unwrap_or_else(|(topic, code)| panic!("creating {topic}: {code}"));
    }
    Topic::new(name, "validation.v1.Signup", Some(|m: &Signup| key::string(&m.user_id)), SETTINGS)
        .with_validation(mode)
        .with_descriptors(&[validation_v1::FILE_DESCRIPTOR_SET])
}

fn valid(user_id: &str) -> Signup {
    Signup {
        user_id: user_id.into(),
        email: "ada@example.com".into(),
        plan: Plan::Pro as i32,
        starts_at: 10,
        ends_at: 20,
    }
}

fn after(records: u64) -> impl FnMut(&RunStats) -> bool {
    move |stats| {
        assert!(stats.idle < Duration::from_secs(30), "no record for 30 s: {stats:?}");
        stats.records >= records
    }
}

/// (key, headers) of the records of partition 0, read until `count` or 10 s.
fn read(config: &ClientConfig, topic: &str, count: usize) -> Vec<(String, Vec<(String, String)>)> {
    let mut reader_config = config.clone();
    reader_config.set("group.id", "validate-reader").set("enable.auto.commit", "false");
    let reader: BaseConsumer = reader_config.create().expect("reader");
    let mut partitions = TopicPartitionList::new();
    partitions.add_partition_offset(topic, 0, Offset::Beginning).unwrap();
    reader.assign(&partitions).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut records = Vec::new();
    while records.len() < count && Instant::now() < deadline {
        let Some(result) = reader.poll(Duration::from_millis(200)) else { continue };
        let message = result.expect("read");
        let headers = message.headers().map_or_else(Vec::new, |headers| {
            let text = |value: Option<&[u8]>| String::from_utf8_lossy(value.unwrap_or_default()).into_owned();
            headers.iter().map(|header| (header.key.to_owned(), text(header.value))).collect()
        });
        records.push((String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(), headers));
    }
    records
}

fn header<'a>(headers: &'a [(String, String)], key: &str) -> Option<&'a str> {
    headers.iter().find(|(name, _)| name == key).map(|(_, value)| value.as_str())
}

#[test]
fn reject_mode_refuses_an_invalid_message_and_sends_nothing() {
    let Some(config) = broker() else { return };
    let topic = signup_topic(&config, Validation::Reject);
    let producer = Producer::new(config.clone()).expect("producer");
    let invalid = Signup { email: "nobody".into(), ..valid("invalid") };
    let error = producer.send(&topic, &invalid).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Validation, "{error}");
    let error = producer.send_async(&topic, &invalid).map(|_| ()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Validation, "{error}");
    producer.send(&topic, &valid("valid")).expect("a valid message is sent");
    let keys: Vec<String> = read(&config, topic.name(), 2).into_iter().map(|(key, _)| key).collect();
    assert_eq!(keys, ["valid"]);
}

#[test]
fn consumers_dead_letter_invalid_records_with_their_violations() {
    let Some(config) = broker() else { return };
    for batch in [false, true] {
        // Mode Dlq: the producer does not check, the consumer does.
        let topic = signup_topic(&config, Validation::Dlq);
        let producer = Producer::new(config.clone()).expect("producer");
        let bad_email = Signup { email: "@".into(), ..valid("bad-email") };
        let bad_period = Signup { plan: Plan::Unspecified as i32, ends_at: 0, ..valid("bad-period") };
        for message in [valid("first"), bad_email, bad_period, valid("last")] {
            producer.send(&topic, &message).expect("send");
        }
        let consumer = Consumer::new(&format!("group-{}", topic.name()), config.clone()).expect("consumer");
        let handled = RefCell::new(Vec::new());
        let stats = if batch {
            let handler = |records: Vec<Record<Signup>>| -> Result<(), String> {
                handled.borrow_mut().extend(records.into_iter().map(|record| record.message.user_id));
                Ok(())
            };
            consumer.run_batch(&topic, handler, 10, Duration::from_millis(200), after(4))
        } else {
            let handler = |record: Record<Signup>| -> Result<(), String> {
                handled.borrow_mut().push(record.message.user_id);
                Ok(())
            };
            consumer.run(&topic, handler, after(4))
        }
        .expect("run");
        assert_eq!((stats.handled, stats.dead_lettered), (2, 2), "batch {batch}");
        assert_eq!(handled.into_inner(), ["first", "last"]);
        let letters = read(&config, &topic.dlq_name(), 2);
        assert_eq!(letters.len(), 2);
        for (key, headers) in &letters {
            assert_eq!(header(headers, envelope::DLQ_REASON), Some("validation"), "{key}");
            assert_eq!(header(headers, envelope::DLQ_ATTEMPTS), Some("0"), "{key}");
            let violations = header(headers, envelope::DLQ_VIOLATIONS).unwrap_or_default();
            match key.as_str() {
                "bad-email" => assert_eq!(violations, r#"[{"rule_id":"string.email","field":"email"}]"#),
                _ => {
                    assert!(violations.contains(r#"{"rule_id":"enum.not_in","field":"plan"}"#), "{violations}");
                    assert!(
                        violations.contains(r#"{"rule_id":"signup.ends_after_starts","field":""}"#),
                        "{violations}"
                    );
                }
            }
        }
    }
}

#[test]
fn off_mode_hands_invalid_records_to_the_handler() {
    let Some(config) = broker() else { return };
    let topic = signup_topic(&config, Validation::Off);
    let producer = Producer::new(config.clone()).expect("producer");
    let invalid = Signup { email: "nobody".into(), ..valid("invalid") };
    producer.send(&topic, &invalid).expect("mode Off sends anything");
    let consumer = Consumer::new(&format!("group-{}", topic.name()), config.clone()).expect("consumer");
    let handled = RefCell::new(Vec::new());
    let handler = |record: Record<Signup>| -> Result<(), String> {
        handled.borrow_mut().push(record.message);
        Ok(())
    };
    let stats = consumer.run(&topic, handler, after(1)).expect("run");
    assert_eq!((stats.handled, stats.dead_lettered), (1, 0));
    assert_eq!(handled.into_inner(), [invalid]);
}
