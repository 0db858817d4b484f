//! Prometheus series of producers and consumers (feature `metrics`): the names,
//! labels and buckets of `docs/runtime.md` ("Metrics"), the same in every language.
//!
//! Clients use [`Metrics::global`] (registered in prometheus' default registry)
//! unless their options name another [`Metrics`].

use std::sync::OnceLock;
use std::time::Duration;

use prometheus::{
    Encoder as _, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::envelope::DeadLetterReason;

/// Buckets of the latency histograms, in seconds.
pub const LATENCY_BUCKETS: [f64; 13] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Buckets of `contracts_end_to_end_lag_seconds`, in seconds.
pub const LAG_BUCKETS: [f64; 13] = [0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];

/// The runtime's series, registered in one registry. Cloning shares them.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    produced: IntCounterVec,
    produce_errors: IntCounterVec,
    produce_latency: HistogramVec,
    consumed: IntCounterVec,
    dead_lettered: IntCounterVec,
    handle_duration: HistogramVec,
    end_to_end_lag: HistogramVec,
    consumer_lag: IntGaugeVec,
}

impl Metrics {
    /// The series registered in `registry`; fails if they already are (use
    /// one `Metrics` per registry and clone it).
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        let counter = |name: &str, help: &str, labels: &[&str]| -> prometheus::Result<IntCounterVec> {
            let counter = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(counter.clone()))?;
            Ok(counter)
        };
        let histogram = |name: &str, help: &str, buckets: &[f64]| -> prometheus::Result<HistogramVec> {
            let histogram = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets.to_vec()), &["topic"])?;
            registry.register(Box::new(histogram.clone()))?;
            Ok(histogram)
        };
        let consumer_lag = IntGaugeVec::new(
            Opts::new(
                "contracts_consumer_lag_records",
                "Records between the consumer's position and the partition's end.",
            ),
            &["topic", "partition"],
        )?;
        registry.register(Box::new(consumer_lag.clone()))?;
        Ok(Self {
            registry: registry.clone(),
            produced: counter("contracts_records_produced_total", "Records acknowledged by Kafka.", &["topic"])?,
            produce_errors: counter(
                "contracts_produce_errors_total",
                "Records Kafka did not acknowledge.",
                &["topic"],
            )?,
            produce_latency: histogram(
                "contracts_produce_latency_seconds",
                "Time from send to Kafka's acknowledgement.",
                &LATENCY_BUCKETS,
            )?,
            consumed: counter("contracts_records_consumed_total", "Records handled successfully.", &["topic"])?,
            dead_lettered: counter(
                "contracts_records_dead_lettered_total",
                "Records written to the dead-letter topic, by reason.",
                &["topic", "reason"],
            )?,
            handle_duration: histogram(
                "contracts_handle_duration_seconds",
                "Time the handler took, retries included.",
                &LATENCY_BUCKETS,
            )?,
            end_to_end_lag: histogram(
                "contracts_end_to_end_lag_seconds",
                "Time from the record's ce_time (or Kafka timestamp) to the end of its handling.",
                &LAG_BUCKETS,
            )?,
            consumer_lag,
        })
    }

    /// The process-wide series, in prometheus' default registry.
    pub fn global() -> &'static Metrics {
        static GLOBAL: OnceLock<Metrics> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            Metrics::new(prometheus::default_registry())
                .expect("the contracts_* series are registered in the default registry once")
        })
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Every series of the registry in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut text = Vec::new();
        // Encoding into a Vec fails only for malformed families, which registered ones are not.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut text);
        String::from_utf8_lossy(&text).into_owned()
    }

    /// The series of one topic, label lookups done once.
    pub(crate) fn topic(&self, topic: &str) -> TopicSeries {
        TopicSeries {
            topic: topic.to_owned(),
            metrics: self.clone(),
            produced: self.produced.with_label_values(&[topic]),
            produce_errors: self.produce_errors.with_label_values(&[topic]),
            produce_latency: self.produce_latency.with_label_values(&[topic]),
            consumed: self.consumed.with_label_values(&[topic]),
            handle_duration: self.handle_duration.with_label_values(&[topic]),
            end_to_end_lag: self.end_to_end_lag.with_label_values(&[topic]),
        }
    }

    pub(crate) fn set_consumer_lag(&self, topic: &str, partition: i32, lag: i64) {
        self.consumer_lag.with_label_values(&[topic, &partition.to_string()]).set(lag);
    }

    pub(crate) fn drop_consumer_lag(&self, topic: &str, partition: i32) {
        // Absent when no lag was known yet: nothing to drop.
        let _ = self.consumer_lag.remove_label_values(&[topic, &partition.to_string()]);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::global().clone()
    }
}

/// The series of one topic.
#[derive(Clone, Debug)]
pub(crate) struct TopicSeries {
    topic: String,
    metrics: Metrics,
    produced: IntCounter,
    produce_errors: IntCounter,
    produce_latency: Histogram,
    consumed: IntCounter,
    handle_duration: Histogram,
    end_to_end_lag: Histogram,
}

impl TopicSeries {
    pub fn produced(&self, latency: Duration) {
        self.produced.inc();
        self.produce_latency.observe(latency.as_secs_f64());
    }

    pub fn produce_failed(&self) {
        self.produce_errors.inc();
    }

    pub fn consumed(&self, records: u64) {
        self.consumed.inc_by(records);
    }

    pub fn handled_in(&self, duration: Duration) {
        self.handle_duration.observe(duration.as_secs_f64());
    }

    pub fn end_to_end_lag(&self, lag: Duration) {
        self.end_to_end_lag.observe(lag.as_secs_f64());
    }

    pub fn dead_lettered(&self, reason: DeadLetterReason) {
        self.metrics.dead_lettered.with_label_values(&[self.topic.as_str(), reason.as_str()]).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_have_the_documented_names_labels_and_buckets() {
        let metrics = Metrics::new(&Registry::new()).unwrap();
        let series = metrics.topic("audit.events.v1");
        series.produced(Duration::from_millis(3));
        series.produce_failed();
        series.consumed(2);
        series.handled_in(Duration::from_millis(20));
        series.end_to_end_lag(Duration::from_secs(2));
        series.dead_lettered(DeadLetterReason::WrongType);
        metrics.set_consumer_lag("audit.events.v1", 3, 17);
        let text = metrics.render();
        for line in [
            r#"contracts_records_produced_total{topic="audit.events.v1"} 1"#,
            r#"contracts_produce_errors_total{topic="audit.events.v1"} 1"#,
            r#"contracts_produce_latency_seconds_bucket{topic="audit.events.v1",le="0.005"} 1"#,
            r#"contracts_records_consumed_total{topic="audit.events.v1"} 2"#,
            r#"contracts_records_dead_lettered_total{reason="wrong-type",topic="audit.events.v1"} 1"#,
            r#"contracts_handle_duration_seconds_bucket{topic="audit.events.v1",le="0.025"} 1"#,
            r#"contracts_end_to_end_lag_seconds_bucket{topic="audit.events.v1",le="1"} 0"#,
            r#"contracts_end_to_end_lag_seconds_bucket{topic="audit.events.v1",le="5"} 1"#,
            r#"contracts_end_to_end_lag_seconds_bucket{topic="audit.events.v1",le="3600"} 1"#,
            r#"contracts_consumer_lag_records{partition="3",topic="audit.events.v1"} 17"#,
        ] {
            assert!(text.lines().any(|found| found == line), "{line} not in\n{text}");
        }
        let buckets = text.lines().filter(|line| line.starts_with("contracts_handle_duration_seconds_bucket")).count();
        assert_eq!(buckets, LATENCY_BUCKETS.len() + 1, "13 bounds and +Inf");
        metrics.drop_consumer_lag("audit.events.v1", 3);
        assert!(!metrics.render().contains("contracts_consumer_lag_records{"));
    }

    #[test]
    fn one_registry_holds_the_series_once() {
        let registry = Registry::new();
        let _metrics = Metrics::new(&registry).unwrap();
        assert!(Metrics::new(&registry).is_err());
        assert!(std::ptr::eq(Metrics::global(), Metrics::global()));
    }
}
