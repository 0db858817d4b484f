//! The one error type of the runtime; [`Error::kind`] names its kind as
//! `docs/runtime.md` ("Errors") does in every language.

#[cfg(feature = "kafka")]
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::validation::Violation;

/// Every error the runtime returns. [`ContractError`] is the same type under
/// the name the other languages give the base of their errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `ce_type` is missing or names another message than the topic's.
    #[error(
        "wrong message type: expected ce_type {expected:?}, {}",
        match actual {
            Some(actual) => format!("got {actual:?}"),
            None => "got no ce_type header".to_owned(),
        }
    )]
    WrongType {
        /// The topic's fully qualified message name.
        expected: &'static str,
        /// The record's `ce_type` (lossily UTF-8 decoded), `None` if absent.
        actual: Option<String>,
    },
    /// `ce_type` is right but the value does not parse as that message.
    #[error(transparent)]
    Decode(DecodeError),
    /// A message breaks the contract's field rules (feature `validate`):
    /// `violations` in protovalidate's order, empty only when a rule failed
    /// to run (a CEL runtime error, in `detail`).
    #[error("{type_name} on topic {topic:?} breaks the contract's rules: {detail}")]
    Validation { topic: String, type_name: &'static str, violations: Vec<Violation>, detail: String },
    /// The environment or the client configuration is wrong.
    #[error("Kafka configuration: {0}")]
    Config(String),
    /// The topic (or its `.dlq`) does not exist; topics are never created implicitly.
    #[error("topic {topic:?} does not exist on {bootstrap}: create it (with its settings from the registry) before using it")]
    UnknownTopic { topic: String, bootstrap: String },
    /// The broker refused the topic's metadata (e.g. not authorized).
    #[cfg(feature = "kafka")]
    #[error("topic {topic:?}: {code}")]
    Topic { topic: String, code: RDKafkaErrorCode },
    /// No broker reached within the bound, a refused connection, failed
    /// authentication or TLS.
    #[error(
        "could not connect to Kafka at {bootstrap}: {detail}; \
         check KAFKA_BOOTSTRAP_SERVERS and the KAFKA_SECURITY_PROTOCOL/KAFKA_SASL_*/KAFKA_SSL_* settings"
    )]
    Connection { bootstrap: String, detail: String },
    /// Kafka did not acknowledge a record.
    #[cfg(feature = "kafka")]
    #[error("delivery to {topic:?} failed: {error}")]
    Delivery { topic: String, error: KafkaError },
    /// A record could not be written to its dead-letter topic; its offset was
    /// not stored, so it is consumed again after a restart.
    #[error("dead-lettering {topic:?} partition {partition} offset {offset} to {dlq_topic:?} failed: {error}")]
    DeadLetter { topic: String, partition: i32, offset: i64, dlq_topic: String, error: Box<Error> },
    /// Any other error of the Kafka client (the consumer's fatal errors).
    #[cfg(feature = "kafka")]
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
}

/// The base of every error, as in the other languages: the same type as [`Error`].
pub type ContractError = Error;

/// Why a value with the right `ce_type` could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The record has a null value (a tombstone); no message can come of it.
    #[error("record has no value (null, a tombstone): expected a {type_name} message")]
    NoValue { type_name: &'static str },
    /// The bytes are not a valid encoding of the message.
    // The prost error is part of the text rather than a `source()`: dead-letter
    // headers and logs want the whole reason on one line.
    #[error("value is not a valid {type_name} message: {error}")]
    Invalid { type_name: &'static str, error: prost::DecodeError },
}

/// The kinds of `docs/runtime.md`, the same names in every language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    WrongType,
    Decode,
    Config,
    Connection,
    Delivery,
    DeadLetter,
    Validation,
}

impl ErrorKind {
    /// `WrongTypeError`, `DecodeError`, `ConfigError`, `ConnectionError`,
    /// `DeliveryError`, `DeadLetterError` or `ValidationError`.
    pub fn name(self) -> &'static str {
        match self {
            Self::WrongType => "WrongTypeError",
            Self::Decode => "DecodeError",
            Self::Config => "ConfigError",
            Self::Connection => "ConnectionError",
            Self::Delivery => "DeliveryError",
            Self::DeadLetter => "DeadLetterError",
            Self::Validation => "ValidationError",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Error {
    /// The kind of this error, as `docs/runtime.md` names it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::WrongType { .. } => ErrorKind::WrongType,
            Self::Decode(_) => ErrorKind::Decode,
            Self::Validation { .. } => ErrorKind::Validation,
            Self::Config(_) | Self::UnknownTopic { .. } => ErrorKind::Config,
            // Denied access to a topic is a setting to fix (ACLs), as in Python.
            #[cfg(feature = "kafka")]
            Self::Topic { .. } => ErrorKind::Config,
            Self::Connection { .. } => ErrorKind::Connection,
            #[cfg(feature = "kafka")]
            Self::Delivery { .. } => ErrorKind::Delivery,
            Self::DeadLetter { .. } => ErrorKind::DeadLetter,
            #[cfg(feature = "kafka")]
            Self::Kafka(error) => match error.rdkafka_error_code() {
                Some(
                    RDKafkaErrorCode::TopicAuthorizationFailed
                    | RDKafkaErrorCode::GroupAuthorizationFailed
                    | RDKafkaErrorCode::UnknownTopicOrPartition
                    | RDKafkaErrorCode::UnknownTopic,
                ) => ErrorKind::Config,
                _ => ErrorKind::Connection,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_the_documented_names() {
        let wrong = Error::WrongType { expected: "a.v1.A", actual: None };
        assert_eq!(wrong.kind().name(), "WrongTypeError");
        let decode = Error::Decode(DecodeError::NoValue { type_name: "a.v1.A" });
        assert_eq!(decode.kind().to_string(), "DecodeError");
        assert_eq!(Error::Config("x".into()).kind().name(), "ConfigError");
        let missing = Error::UnknownTopic { topic: "t".into(), bootstrap: "b".into() };
        assert_eq!(missing.kind(), ErrorKind::Config);
        let refused = Error::Connection { bootstrap: "b".into(), detail: "refused".into() };
        assert_eq!(refused.kind().name(), "ConnectionError");
        let invalid = Error::Validation {
            topic: "t".into(),
            type_name: "a.v1.A",
            violations: vec![Violation::new("string.email", "email")],
            detail: "email: not an address [string.email]".into(),
        };
        assert_eq!(invalid.kind().name(), "ValidationError");
        assert_eq!(
            invalid.to_string(),
            r#"a.v1.A on topic "t" breaks the contract's rules: email: not an address [string.email]"#
        );
        let dead = Error::DeadLetter {
            topic: "t".into(),
            partition: 0,
            offset: 1,
            dlq_topic: "t.dlq".into(),
            error: Box::new(refused),
        };
        assert_eq!(dead.kind().name(), "DeadLetterError");
    }

    #[cfg(feature = "kafka")]
    #[test]
    fn kafka_errors_have_kinds_too() {
        let delivery = Error::Delivery {
            topic: "t".into(),
            error: KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut),
        };
        assert_eq!(delivery.kind().name(), "DeliveryError");
        let denied = Error::Kafka(KafkaError::MessageConsumption(RDKafkaErrorCode::TopicAuthorizationFailed));
        assert_eq!(denied.kind(), ErrorKind::Config);
        let transport = Error::Kafka(KafkaError::MessageConsumption(RDKafkaErrorCode::AllBrokersDown));
        assert_eq!(transport.kind(), ErrorKind::Connection);
    }
}
