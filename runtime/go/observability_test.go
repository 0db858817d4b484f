package contracts

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/types/known/structpb"
)

// scrape reads /metrics of h as Prometheus would.
func scrape(t *testing.T, h *Health) map[string]*dto.MetricFamily {
	t.Helper()
	recorder := httptest.NewRecorder()
	h.ServeHTTP(recorder, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(recorder.Body)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v\n%s", err, body)
	}
	return families
}

// sample returns the metric of family name whose labels include want.
func sample(families map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	family := families[name]
	if family == nil {
		return nil
	}
	for _, metric := range family.GetMetric() {
		labels := map[string]string{}
		for _, l := range metric.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		matches := true
		for k, v := range want {
			matches = matches && labels[k] == v
		}
		if matches {
			return metric
		}
	}
	return nil
}

func bucketBounds(m *dto.Metric) []float64 {
	var bounds []float64
	for _, b := range m.GetHistogram().GetBucket() {
		bounds = append(bounds, b.GetUpperBound())
	}
	return bounds
}

// The metrics and spans of one produce-and-consume run, read as Prometheus
// and an OpenTelemetry exporter see them.
func TestMetricsAndSpans(t *testing.T) {
	requireKafka(t)
	topic := structTestTopic(t, 1)
	registry := prometheus.NewRegistry()
	spans := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	observed := []Option{WithRegisterer(registry), WithTracerProvider(provider)}
	producer := newTestProducer(t, WithRegisterer(registry), WithTracerProvider(provider))
	ctx := testContext(t)
	for i := range 3 {
		if err := Send(ctx, producer, topic, event(t, i, "zone-"+strconv.Itoa(i), map[string]any{"fail": i == 1})); err != nil {
			t.Fatal(err)
		}
	}
	garbage := &kgo.Record{Topic: topic.Name, Value: []byte{0xff}, Headers: []kgo.RecordHeader{{Key: HeaderType, Value: []byte("google.protobuf.Struct")}}}
	if err := producer.Client().ProduceSync(ctx, garbage).FirstErr(); err != nil {
		t.Fatal(err)
	}

	consumer := newTestConsumer(t, WithStopAfter(4), WithRetryPolicy(RetryPolicy{Attempts: 2, BaseDelay: time.Millisecond}),
		observed[0], observed[1])
	health := NewHealth(consumer, producer)
	lagWhileHandlingFirst := -1.0
	err := Consume(ctx, consumer, topic, func(ctx context.Context, m *structpb.Struct, md Metadata) error {
		if !trace.SpanContextFromContext(ctx).IsValid() {
			t.Errorf("the handler's context carries no span")
		}
		if md.Offset == 0 {
			lag := sample(scrape(t, health), "contracts_consumer_lag_records", map[string]string{"topic": topic.Name, "partition": "0"})
			lagWhileHandlingFirst = lag.GetGauge().GetValue()
		}
		if m.GetFields()["fail"].GetBoolValue() {
			return errors.New("refused")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if lagWhileHandlingFirst != 4 {
		t.Errorf("lag while handling offset 0 of 4: %v, want 4", lagWhileHandlingFirst)
	}

	families := scrape(t, health)
	byTopic := map[string]string{"topic": topic.Name}
	for name, want := range map[string]float64{
		"contracts_records_produced_total": 3,
		"contracts_records_consumed_total": 2,
	} {
		if got := sample(families, name, byTopic).GetCounter().GetValue(); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	for reason, want := range map[string]float64{DLQReasonHandler: 1, DLQReasonDecode: 1} {
		got := sample(families, "contracts_records_dead_lettered_total", map[string]string{"topic": topic.Name, "reason": reason})
		if got.GetCounter().GetValue() != want {
			t.Errorf("dead-lettered{reason=%s} = %v, want %v", reason, got.GetCounter().GetValue(), want)
		}
	}
	for name, want := range map[string]struct {
		count   uint64
		buckets []float64
	}{
		"contracts_produce_latency_seconds": {3, LatencyBuckets},
		"contracts_handle_duration_seconds": {3, LatencyBuckets},
		"contracts_end_to_end_lag_seconds":  {2, LagBuckets},
	} {
		histogram := sample(families, name, byTopic)
		want.buckets = append(slices.Clone(want.buckets), math.Inf(1)) // the text format adds le="+Inf"
		if histogram.GetHistogram().GetSampleCount() != want.count || !slices.Equal(bucketBounds(histogram), want.buckets) {
			t.Errorf("%s: %d samples in buckets %v, want %d in %v", name, histogram.GetHistogram().GetSampleCount(),
				bucketBounds(histogram), want.count, want.buckets)
		}
	}
	// The partition was revoked when Consume returned: its lag is dropped.
	if lag := sample(families, "contracts_consumer_lag_records", byTopic); lag != nil {
		t.Errorf("lag of a revoked partition still exported: %v", lag)
	}
	if n, err := testutil.GatherAndCount(registry, "contracts_produce_errors_total"); err != nil || n != 1 {
		t.Errorf("contracts_produce_errors_total: %d series (%v), want 1 at zero", n, err)
	}

	sends := map[string]sdktrace.ReadOnlySpan{} // by zone
	var processes []sdktrace.ReadOnlySpan
	for _, span := range spans.Ended() {
		switch span.Name() {
		case "send " + topic.Name:
			sends[attributeValue(span, "messaging.kafka.message.key")] = span
		case "process " + topic.Name:
			processes = append(processes, span)
		default:
			t.Errorf("unexpected span %q", span.Name())
		}
	}
	if len(sends) != 3 || len(processes) != 3 {
		t.Fatalf("%d send and %d process spans, want 3 and 3", len(sends), len(processes))
	}
	for _, process := range processes {
		send := sends[attributeValue(process, "messaging.kafka.message.key")]
		if send == nil || process.Parent().SpanID() != send.SpanContext().SpanID() || process.SpanContext().TraceID() != send.SpanContext().TraceID() {
			t.Errorf("process span %v is not the child of its send span", process.Attributes())
			continue
		}
		if send.SpanKind() != trace.SpanKindProducer || process.SpanKind() != trace.SpanKindConsumer {
			t.Errorf("kinds %v and %v", send.SpanKind(), process.SpanKind())
		}
		for key, want := range map[string]string{
			"messaging.system": "kafka", "messaging.destination.name": topic.Name, "messaging.operation.name": "process",
			"messaging.operation.type": "process", "messaging.destination.partition.id": "0", "messaging.consumer.group.name": consumer.Group(),
			"messaging.kafka.offset": attributeValue(send, "messaging.kafka.offset"),
		} {
			if got := attributeValue(process, key); got != want {
				t.Errorf("process span: %s = %q, want %q", key, got, want)
			}
		}
		for key, want := range map[string]string{"messaging.operation.name": "send", "messaging.operation.type": "send",
			"messaging.system": "kafka", "messaging.destination.name": topic.Name, "messaging.destination.partition.id": "0"} {
			if got := attributeValue(send, key); got != want {
				t.Errorf("send span: %s = %q, want %q", key, got, want)
			}
		}
	}
}

func attributeValue(span sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range span.Attributes() {
		if kv.Key == attribute.Key(key) {
			return kv.Value.Emit()
		}
	}
	return ""
}

// A batch is one process span linked to the producer's span of each record.
func TestBatchSpanLinksEveryRecord(t *testing.T) {
	requireKafka(t)
	topic := structTestTopic(t, 1)
	spans := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	producer := newTestProducer(t, WithTracerProvider(provider), WithRegisterer(prometheus.NewRegistry()))
	ctx := testContext(t)
	for i := range 3 {
		if err := Send(ctx, producer, topic, event(t, i, "z", nil)); err != nil {
			t.Fatal(err)
		}
	}
	consumer := newTestConsumer(t, WithStopAfter(3), WithTracerProvider(provider), WithRegisterer(prometheus.NewRegistry()))
	err := ConsumeBatch(ctx, consumer, topic, func(context.Context, []*structpb.Struct, []Metadata) error { return nil }, 10, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	sent := map[trace.SpanID]bool{}
	linked := 0
	for _, span := range spans.Ended() {
		if span.SpanKind() == trace.SpanKindProducer {
			sent[span.SpanContext().SpanID()] = true
			continue
		}
		count, _ := strconv.Atoi(attributeValue(span, "messaging.batch.message_count"))
		linked += len(span.Links())
		if len(span.Links()) != count || span.Parent().IsValid() {
			t.Errorf("batch span with %d records has %d links and parent %v", count, len(span.Links()), span.Parent())
		}
		for _, link := range span.Links() {
			if !sent[link.SpanContext.SpanID()] {
				t.Errorf("link to %v, not a send span", link.SpanContext.SpanID())
			}
		}
	}
	if linked != 3 {
		t.Errorf("%d links in all, want 3", linked)
	}
}
