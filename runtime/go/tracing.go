package contracts

import (
	"context"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// instrumentationName names the runtime's tracer.
const instrumentationName = "github.com/contractsdev/contracts/runtime/go"

// traceContext reads and writes W3C traceparent / tracestate, whatever
// propagator the application installed globally: the header names are part
// of the envelope every runtime reads.
var traceContext propagation.TraceContext

// HeaderCarrier adapts a record's headers to OpenTelemetry's
// propagation.TextMapCarrier. Set replaces a header of the same name.
type HeaderCarrier struct{ Record *kgo.Record }

// Get returns the first header named key. A traceparent's flags keep only
// the sampled bit: writers on W3C Trace Context level 2 (OpenTelemetry's
// Python SDK, for one) set the random-trace-id bit too, which this version of
// otel-go's propagator refuses, and docs/runtime.md says readers accept any
// flags byte.
func (c HeaderCarrier) Get(key string) string {
	value, _ := headerValue(c.Record.Headers, key)
	if key == traceparentHeader {
		return sampledFlagOnly(value)
	}
	return value
}

const traceparentHeader = "traceparent"

// sampledFlagOnly rewrites the last field of "00-<trace id>-<span id>-<flags>".
func sampledFlagOnly(traceparent string) string {
	const length = 55 // 2 + 1 + 32 + 1 + 16 + 1 + 2
	if len(traceparent) != length || traceparent[52] != '-' {
		return traceparent
	}
	flags, err := strconv.ParseUint(traceparent[53:], 16, 8)
	if err != nil {
		return traceparent
	}
	return traceparent[:53] + fmt.Sprintf("%02x", flags&1)
}

// Set replaces the headers named key with one of the value.
func (c HeaderCarrier) Set(key, value string) {
	headers := c.Record.Headers[:0:0]
	for _, h := range c.Record.Headers {
		if h.Key != key {
			headers = append(headers, h)
		}
	}
	c.Record.Headers = append(headers, kgo.RecordHeader{Key: key, Value: []byte(value)})
}

// Keys lists the header names.
func (c HeaderCarrier) Keys() []string {
	keys := make([]string, len(c.Record.Headers))
	for i, h := range c.Record.Headers {
		keys[i] = h.Key
	}
	return keys
}

type tracer struct {
	provider trace.TracerProvider
	tracer   trace.Tracer
	group    string // consumer group; empty for a producer
}

func newTracer(provider trace.TracerProvider, group string) tracer {
	return tracer{provider: provider, tracer: provider.Tracer(instrumentationName), group: group}
}

// OpenTelemetry's global provider before an application installs one: its
// spans record nothing, yet each Start costs a context and a span value.
var (
	globalDefaultProvider = otel.GetTracerProvider()
	globalDefaultIsInert  = fmt.Sprintf("%T", globalDefaultProvider) == "*global.tracerProvider"
)

// noSpan records nothing and ends nothing (not the caller's span).
var noSpan = trace.SpanFromContext(context.Background())

// inert reports whether the tracer's provider is the global default and no
// application installed a real one since: a span would record nothing.
func (t tracer) inert() bool {
	return globalDefaultIsInert && t.provider == globalDefaultProvider && otel.GetTracerProvider() == globalDefaultProvider
}

func keyAttributes(attrs []attribute.KeyValue, key []byte) []attribute.KeyValue {
	if key != nil && utf8.Valid(key) {
		attrs = append(attrs, attribute.String("messaging.kafka.message.key", string(key)))
	}
	return attrs
}

// sendSpanOptions are built once: a variadic call with a new option would
// allocate on every record.
var sendSpanOptions = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindProducer)}

// startSend starts the PRODUCER span of one record, named spanName ("send
// {topic}"), and injects its context into the record's headers. With a
// provider that does not record, nothing is computed beyond the Start call.
func (t tracer) startSend(ctx context.Context, spanName string, record *kgo.Record) trace.Span {
	if t.inert() { // no span, but the caller's trace context still travels
		if trace.SpanContextFromContext(ctx).IsValid() {
			traceContext.Inject(ctx, HeaderCarrier{record})
		}
		return noSpan
	}
	ctx, span := t.tracer.Start(ctx, spanName, sendSpanOptions...)
	if !span.IsRecording() {
		if span.SpanContext().IsValid() { // a parent's context from the caller
			traceContext.Inject(ctx, HeaderCarrier{record})
		}
		return span
	}
	span.SetAttributes(keyAttributes([]attribute.KeyValue{
		attribute.String("messaging.system", "kafka"),
		attribute.String("messaging.destination.name", record.Topic),
		attribute.String("messaging.operation.name", "send"),
		attribute.String("messaging.operation.type", "send"),
	}, record.Key)...)
	traceContext.Inject(ctx, HeaderCarrier{record})
	return span
}

// endSend records the broker's answer and ends the span.
func endSend(span trace.Span, record *kgo.Record, err error) {
	if span.IsRecording() {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, oneLine(err.Error()))
		} else {
			span.SetAttributes(
				attribute.String("messaging.destination.partition.id", strconv.FormatInt(int64(record.Partition), 10)),
				attribute.Int64("messaging.kafka.offset", record.Offset),
			)
		}
	}
	span.End()
}

func (t tracer) processAttributes(topic string) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("messaging.system", "kafka"),
		attribute.String("messaging.destination.name", topic),
		attribute.String("messaging.consumer.group.name", t.group),
		attribute.String("messaging.operation.name", "process"),
		attribute.String("messaging.operation.type", "process"),
	}
}

// startProcess starts the CONSUMER span of one record, a child of the
// producer's span whose context the record carries.
func (t tracer) startProcess(ctx context.Context, record *kgo.Record) (context.Context, trace.Span) {
	ctx = traceContext.Extract(ctx, HeaderCarrier{record})
	ctx, span := t.tracer.Start(ctx, "process "+record.Topic, trace.WithSpanKind(trace.SpanKindConsumer))
	if span.IsRecording() {
		span.SetAttributes(keyAttributes(append(t.processAttributes(record.Topic),
			attribute.String("messaging.destination.partition.id", strconv.FormatInt(int64(record.Partition), 10)),
			attribute.Int64("messaging.kafka.offset", record.Offset),
		), record.Key)...)
	}
	return ctx, span
}

// startProcessBatch starts one CONSUMER span for a batch, linked to the
// producer's span of every record.
func (t tracer) startProcessBatch(ctx context.Context, topic string, records []*kgo.Record) (context.Context, trace.Span) {
	ctx, span := t.tracer.Start(ctx, "process "+topic, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithNewRoot())
	if !span.IsRecording() {
		return ctx, span
	}
	attrs := append(t.processAttributes(topic), attribute.Int("messaging.batch.message_count", len(records)))
	samePartition := true
	for _, record := range records {
		samePartition = samePartition && record.Partition == records[0].Partition
		linked := trace.SpanContextFromContext(traceContext.Extract(context.Background(), HeaderCarrier{record}))
		if linked.IsValid() {
			span.AddLink(trace.Link{SpanContext: linked})
		}
	}
	if samePartition && len(records) > 0 {
		attrs = append(attrs, attribute.String("messaging.destination.partition.id", strconv.FormatInt(int64(records[0].Partition), 10)))
	}
	span.SetAttributes(attrs...)
	return ctx, span
}

// endProcess marks a span whose record(s) were dead-lettered as failed.
func endProcess(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.RecordError(err)
		span.SetStatus(codes.Error, oneLine(err.Error()))
	}
	span.End()
}
