//! What the Kafka client can fail with.

use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// An error of the Kafka producer or consumer. Records that break their
/// topic's contract are not errors here: the consumer dead-letters them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The environment or the client configuration is wrong.
    #[error("Kafka configuration: {0}")]
    Config(String),
    /// No broker answered within the connect timeout.
    #[error(
        "could not reach Kafka at {bootstrap} within {timeout:?} ({detail}); \
         check KAFKA_BOOTSTRAP_SERVERS and the KAFKA_SECURITY_PROTOCOL/KAFKA_SASL_* settings"
    )]
    Unreachable { bootstrap: String, timeout: Duration, detail: String },
    /// The topic does not exist; topics are never created implicitly.
    #[error("topic {topic:?} does not exist on {bootstrap}: create it (with its settings from the registry) before using it")]
    UnknownTopic { topic: String, bootstrap: String },
    /// The broker refused the topic's metadata (e.g. not authorized).
    #[error("topic {topic:?}: {code}")]
    Topic { topic: String, code: RDKafkaErrorCode },
    /// A record was not delivered.
    #[error("delivery to {topic:?} failed: {error}")]
    Delivery { topic: String, error: KafkaError },
    /// A record could not be written to its dead-letter topic; its offset was
    /// not stored, so it is consumed again after a restart.
    #[error("dead-lettering {topic:?} partition {partition} offset {offset} to {dlq_topic:?} failed: {error}")]
    DeadLetter { topic: String, partition: i32, offset: i64, dlq_topic: String, error: Box<Error> },
    /// Any other error of the Kafka client.
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
}
