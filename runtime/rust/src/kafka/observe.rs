//! Metrics and spans as the kafka code calls them: the real ones with features
//! `metrics` / `tracing`, empty stand-ins without, so the clients need no `cfg`.

#[cfg(feature = "metrics")]
pub(crate) use crate::metrics::{Metrics, TopicSeries};
#[cfg(feature = "tracing")]
pub(crate) use crate::tracing::{start_process, start_send, start_send_untraced, Processed, SendSpan};

#[cfg(not(feature = "metrics"))]
pub(crate) use no_metrics::{Metrics, TopicSeries};
#[cfg(not(feature = "tracing"))]
pub(crate) use no_tracing::{start_process, start_send, start_send_untraced, Processed, SendSpan};

#[cfg(not(feature = "metrics"))]
mod no_metrics {
    use std::time::Duration;

    use crate::envelope::DeadLetterReason;

    #[derive(Clone, Debug, Default)]
    pub(crate) struct Metrics;

    impl Metrics {
        pub fn topic(&self, _topic: &str) -> TopicSeries {
            TopicSeries
        }
        pub fn set_consumer_lag(&self, _topic: &str, _partition: i32, _lag: i64) {}
        pub fn drop_consumer_lag(&self, _topic: &str, _partition: i32) {}
    }

    #[derive(Clone, Debug)]
    pub(crate) struct TopicSeries;

    impl TopicSeries {
        pub fn produced(&self, _latency: Duration) {}
        pub fn produce_failed(&self) {}
        pub fn consumed(&self, _records: u64) {}
        pub fn handled_in(&self, _duration: Duration) {}
        pub fn end_to_end_lag(&self, _lag: Duration) {}
        pub fn dead_lettered(&self, _reason: DeadLetterReason) {}
    }
}

#[cfg(not(feature = "tracing"))]
mod no_tracing {
    use crate::Header;

    pub(crate) struct SendSpan;

    pub(crate) fn start_send(_topic: &str, _key: Option<&[u8]>) -> (SendSpan, Vec<Header>) {
        (SendSpan, Vec::new())
    }

    pub(crate) fn start_send_untraced() -> SendSpan {
        SendSpan
    }

    impl SendSpan {
        pub fn end(self, _outcome: Result<(i32, i64), String>) {}
    }

    #[allow(dead_code)] // read by the tracing feature only
    pub(crate) struct Processed<'a> {
        pub topic: &'a str,
        pub group: &'a str,
        pub partition: Option<i32>,
        pub offset: Option<i64>,
        pub key: Option<&'a [u8]>,
        pub batch_size: Option<usize>,
    }

    pub(crate) struct ProcessSpan;

    pub(crate) fn start_process(_processed: &Processed<'_>, _parents: &[&[Header]]) -> ProcessSpan {
        ProcessSpan
    }

    impl ProcessSpan {
        pub fn end(self, _failure: Option<&str>) {}
    }
}
