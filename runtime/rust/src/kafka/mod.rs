//! The Kafka client (feature `kafka`, on by default): a [`Producer`] and a
//! [`Consumer`] on librdkafka that enforce each topic's contract. Blocking, no
//! async runtime: run a consumer on a thread of its own.

mod client;
mod config;
mod consumer;
mod error;
mod producer;

pub use client::Delivery;
pub use config::{
    config_from_env, BOOTSTRAP_SERVERS, SASL_MECHANISM, SASL_PASSWORD, SASL_USERNAME, SECURITY_PROTOCOL,
    SSL_CA_LOCATION,
};
pub use consumer::{Consumer, ConsumerOptions, Metadata, Retry, RunStats};
pub use error::Error;
pub use producer::{PendingDelivery, Producer, ProducerOptions};
pub use rdkafka::ClientConfig;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_can_be_shared_between_threads() {
        fn assert_send_sync<X: Send + Sync>() {}
        assert_send_sync::<Producer>();
        assert_send_sync::<Consumer>();
        assert_send_sync::<Error>();
    }
}
