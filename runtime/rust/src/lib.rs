//! Runtime of the packages that `contracts` generates: each Kafka topic bound
//! to one protobuf message type ([`Topic`]), the record envelope of
//! `docs/envelope.md` ([`Topic::encode`], [`Topic::decode`], [`key`],
//! [`envelope`]), and with feature `kafka` (default) a producer and consumer
//! that behave as `docs/runtime.md` says ([`kafka`]). Features `metrics`,
//! `tracing` and `health` add Prometheus series, OpenTelemetry spans and the
//! `/livez`, `/readyz`, `/metrics` server; `validate` checks the contracts'
//! field rules (protovalidate) on `send` and after decoding
//! (`Topic::validate`, [`Validation`]).
//!
//! Without `kafka` the crate is only the codec and builds in seconds, which is
//! what type-checking a generated crate with `default-features = false` needs.

pub mod envelope;
mod error;
pub mod key;
mod record;
mod topic;
#[cfg(feature = "validate")]
mod validate;
mod validation;

#[cfg(feature = "kafka")]
pub mod kafka;

#[cfg(feature = "health")]
pub mod health;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "tracing")]
mod tracing;

pub use error::{ContractError, DecodeError, Error, ErrorKind};
pub use record::Record;
pub use topic::{EncodeOptions, EncodedRecord, Header, KeyFn, Settings, Topic};
pub use validation::{violations_json, Validation, Violation, MAX_VIOLATIONS_HEADER};

#[cfg(feature = "kafka")]
pub use kafka::{Consumer, Producer, RetryPolicy};

/// The OpenTelemetry API and SDK this crate is built with (feature `tracing`),
/// to install a tracer provider the runtime's spans go to.
#[cfg(feature = "tracing")]
pub use opentelemetry;
#[cfg(feature = "tracing")]
pub use opentelemetry_sdk;
/// The prometheus crate this crate is built with (feature `metrics`).
#[cfg(feature = "metrics")]
pub use prometheus;
/// The prost this crate is built with, for code that must use the same one.
pub use prost;
/// The protovalidate and prost-reflect this crate validates with (feature `validate`).
#[cfg(feature = "validate")]
pub use prost_protovalidate;
#[cfg(feature = "validate")]
pub use prost_reflect;
/// The rdkafka this crate is built with (feature `kafka`).
#[cfg(feature = "kafka")]
pub use rdkafka;
