package contracts

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/trace"
)

// A traceparent written by a W3C Trace Context level 2 writer (flags 03:
// sampled + random trace id, as OpenTelemetry's Python SDK writes) must still
// continue the producer's trace.
func TestTraceparentWithAnyFlagsContinuesTheTrace(t *testing.T) {
	for _, tc := range []struct {
		flags   string
		sampled bool
	}{{"00", false}, {"01", true}, {"02", false}, {"03", true}, {"ff", true}} {
		record := &kgo.Record{Headers: []kgo.RecordHeader{{
			Key:   "traceparent",
			Value: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-" + tc.flags),
		}}}
		span := trace.SpanContextFromContext(traceContext.Extract(context.Background(), HeaderCarrier{record}))
		if !span.IsValid() || span.TraceID().String() != "0af7651916cd43dd8448eb211c80319c" {
			t.Fatalf("flags %s: trace not continued: %+v", tc.flags, span)
		}
		if span.IsSampled() != tc.sampled {
			t.Fatalf("flags %s: sampled = %v, want %v", tc.flags, span.IsSampled(), tc.sampled)
		}
	}
}

func TestMalformedTraceparentIsLeftToThePropagator(t *testing.T) {
	for _, value := range []string{"", "00-abc", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-zz"} {
		if got := sampledFlagOnly(value); got != value {
			t.Fatalf("%q rewritten to %q", value, got)
		}
	}
}
