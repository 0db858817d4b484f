//! Runtime of the packages that `contracts` generates: each Kafka topic bound
//! to one protobuf message type ([`Topic`]), the record envelope of
//! `docs/envelope.md` ([`Topic::encode`], [`Topic::decode`], [`key`],
//! [`envelope`]), and with feature `kafka` (default) a producer and consumer
//! that enforce it ([`kafka`]).
//!
//! Without `kafka` the crate is only the codec and builds in seconds, which is
//! what type-checking a generated crate with `default-features = false` needs.

pub mod envelope;
mod error;
pub mod key;
mod topic;

#[cfg(feature = "kafka")]
pub mod kafka;

pub use error::{ContractError, DecodeError};
pub use topic::{EncodeOptions, Header, KeyFn, Record, Settings, Topic};

#[cfg(feature = "kafka")]
pub use kafka::{Consumer, Producer};

/// The prost this crate is built with, for code that must use the same one.
pub use prost;
/// The rdkafka this crate is built with (feature `kafka`).
#[cfg(feature = "kafka")]
pub use rdkafka;
