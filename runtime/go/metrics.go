package contracts

import (
	"errors"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Histogram buckets shared by every runtime (docs/runtime.md), in seconds.
var (
	LatencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	LagBuckets     = []float64{0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600}
)

// metrics are the runtime's series in one registerer. One value exists per
// registerer (registering a name twice is an error there), so every client
// of a process that uses the same registerer shares the same series.
type metrics struct {
	recordsProduced     *prometheus.CounterVec
	produceErrors       *prometheus.CounterVec
	produceLatency      *prometheus.HistogramVec
	recordsConsumed     *prometheus.CounterVec
	recordsDeadLettered *prometheus.CounterVec
	handleDuration      *prometheus.HistogramVec
	endToEndLag         *prometheus.HistogramVec
	consumerLag         *prometheus.GaugeVec
	gatherer            prometheus.Gatherer // what /metrics serves for these series
}

var (
	metricsMu         sync.Mutex
	metricsByRegistry = map[prometheus.Registerer]*metrics{}
)

// metricsFor returns the series registered on registerer, registering them
// on first use. Series that another part of the program registered already
// with the same definition are reused.
func metricsFor(registerer prometheus.Registerer) *metrics {
	metricsMu.Lock()
	defer metricsMu.Unlock()
	if m, ok := metricsByRegistry[registerer]; ok {
		return m
	}
	m := &metrics{
		recordsProduced: register(registerer, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contracts_records_produced_total", Help: "Records acknowledged by Kafka.",
		}, []string{"topic"})),
		produceErrors: register(registerer, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contracts_produce_errors_total", Help: "Records Kafka did not acknowledge.",
		}, []string{"topic"})),
		produceLatency: register(registerer, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "contracts_produce_latency_seconds", Help: "Time from send to Kafka's acknowledgement.",
			Buckets: LatencyBuckets,
		}, []string{"topic"})),
		recordsConsumed: register(registerer, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contracts_records_consumed_total", Help: "Records handled successfully.",
		}, []string{"topic"})),
		recordsDeadLettered: register(registerer, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contracts_records_dead_lettered_total", Help: "Records written to the dead-letter topic, by reason.",
		}, []string{"topic", "reason"})),
		handleDuration: register(registerer, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "contracts_handle_duration_seconds", Help: "Time the handler took, retries included.",
			Buckets: LatencyBuckets,
		}, []string{"topic"})),
		endToEndLag: register(registerer, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "contracts_end_to_end_lag_seconds", Help: "Time from the record's ce_time (or Kafka timestamp) to the end of its handling.",
			Buckets: LagBuckets,
		}, []string{"topic"})),
		consumerLag: register(registerer, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "contracts_consumer_lag_records", Help: "Records between the consumer's position and the partition's end, as of the last fetch.",
		}, []string{"topic", "partition"})),
		gatherer: prometheus.DefaultGatherer,
	}
	if gatherer, ok := registerer.(prometheus.Gatherer); ok {
		m.gatherer = gatherer
	}
	metricsByRegistry[registerer] = m
	return m
}

// register registers collector, or returns the equal collector registered
// before (by another copy of this package, or a test that reuses a registry).
func register[C prometheus.Collector](registerer prometheus.Registerer, collector C) C {
	if err := registerer.Register(collector); err != nil {
		var already prometheus.AlreadyRegisteredError
		if errors.As(err, &already) {
			if existing, ok := already.ExistingCollector.(C); ok {
				return existing
			}
		}
		// A different metric under our name: a programming error of the
		// application, as prometheus.MustRegister treats it.
		panic(err)
	}
	return collector
}

// topicMetrics are the children of the series of one topic, looked up once
// (a label lookup costs a hash and a lock per call). A producer creates
// only the produce series and a consumer only the consume series, so that
// a producer and a consumer with registries of their own never export the
// same series twice from one /metrics.
type topicMetrics struct {
	m              *metrics
	topic          string
	produced       prometheus.Counter
	produceErrors  prometheus.Counter
	produceLatency prometheus.Observer
	consumed       prometheus.Counter
	handleDuration prometheus.Observer
	endToEndLag    prometheus.Observer
}

func (m *metrics) producerSeries(topic string) *topicMetrics {
	return &topicMetrics{
		m:              m,
		topic:          topic,
		produced:       m.recordsProduced.WithLabelValues(topic),
		produceErrors:  m.produceErrors.WithLabelValues(topic),
		produceLatency: m.produceLatency.WithLabelValues(topic),
	}
}

func (m *metrics) consumerSeries(topic string) *topicMetrics {
	return &topicMetrics{
		m:              m,
		topic:          topic,
		consumed:       m.recordsConsumed.WithLabelValues(topic),
		handleDuration: m.handleDuration.WithLabelValues(topic),
		endToEndLag:    m.endToEndLag.WithLabelValues(topic),
	}
}

func (t *topicMetrics) deadLettered(reason string) {
	t.m.recordsDeadLettered.WithLabelValues(t.topic, reason).Inc()
}

func (t *topicMetrics) setLag(partition int32, lag int64) {
	t.m.consumerLag.WithLabelValues(t.topic, strconv.FormatInt(int64(partition), 10)).Set(float64(max(lag, 0)))
}

func (t *topicMetrics) dropLag(partition int32) {
	t.m.consumerLag.DeleteLabelValues(t.topic, strconv.FormatInt(int64(partition), 10))
}
