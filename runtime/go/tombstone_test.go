package contracts

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/types/known/structpb"
)

// A tombstone (a record without a value, which contracts never writes) of
// the topic's type never reaches a handler, per record or in a batch: it
// is dead-lettered with reason "decode" and attempts 0 (docs/runtime.md,
// "Handler failure"), and the records around it are handled.
func TestTombstonesAreDeadLetteredAsDecodeErrors(t *testing.T) {
	requireKafka(t)
	for _, batch := range []bool{false, true} {
		name := "per record"
		if batch {
			name = "batch"
		}
		t.Run(name, func(t *testing.T) {
			topic := structTestTopic(t, 1)
			producer := newTestProducer(t)
			ctx := testContext(t)
			tombstone := &kgo.Record{Topic: topic.Name, Key: []byte("k-deleted"), Value: nil,
				Headers: []kgo.RecordHeader{{Key: HeaderType, Value: []byte("google.protobuf.Struct")}}}
			if err := Send(ctx, producer, topic, event(t, 1, "z", nil)); err != nil {
				t.Fatal(err)
			}
			if err := producer.Client().ProduceSync(ctx, tombstone).FirstErr(); err != nil {
				t.Fatal(err)
			}
			if err := Send(ctx, producer, topic, event(t, 2, "z", nil)); err != nil {
				t.Fatal(err)
			}

			consumer := newTestConsumer(t, WithStopAfter(3))
			var handled []int
			var err error
			if batch {
				err = ConsumeBatch(ctx, consumer, topic, func(_ context.Context, messages []*structpb.Struct, _ []Metadata) error {
					for _, m := range messages {
						handled = append(handled, eventID(m))
					}
					return nil
				}, 10, 200*time.Millisecond)
			} else {
				err = Consume(ctx, consumer, topic, func(_ context.Context, m *structpb.Struct, _ Metadata) error {
					handled = append(handled, eventID(m))
					return nil
				})
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(handled, []int{1, 2}) {
				t.Fatalf("handled %v, want [1 2]: the tombstone reached the handler", handled)
			}
			letter := readTopic(t, topic.DLQName(), 1)[0]
			if header(letter, DLQHeaderReason) != DLQReasonDecode || header(letter, DLQHeaderAttempts) != "0" ||
				header(letter, DLQHeaderOffset) != "1" || string(letter.Key) != "k-deleted" || letter.Value != nil {
				t.Errorf("letter key %q value %v headers %v", letter.Key, letter.Value, letter.Headers)
			}
			assertAllCommitted(t, consumer.Group(), topic.Name)
		})
	}
}
