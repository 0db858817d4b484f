//! The Kafka client (feature `kafka`, on by default): a [`Producer`] and a
//! [`Consumer`] on librdkafka that behave as `docs/runtime.md` says. Blocking,
//! no async runtime: run a consumer on a thread of its own.

mod client;
mod config;
mod consumer;
mod observe;
mod producer;
pub(crate) mod state;

pub use crate::Error;
#[cfg(feature = "health")]
pub(crate) use client::Context;
pub use client::Delivery;
pub use config::{
    config_from_env, BOOTSTRAP_SERVERS, SASL_MECHANISM, SASL_PASSWORD, SASL_USERNAME, SECURITY_PROTOCOL,
    SSL_CA_LOCATION, SSL_CERTIFICATE_LOCATION, SSL_KEY_LOCATION, SSL_KEY_PASSWORD,
};
pub use consumer::{Consumer, ConsumerOptions, RetryPolicy, RunStats, StopHandle};
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
        assert_send_sync::<StopHandle>();
    }
}
