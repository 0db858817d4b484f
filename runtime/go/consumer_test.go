package contracts

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestConsumeDeliversEveryMessage(t *testing.T) {
	requireKafka(t)
	topic := structTestTopic(t, 3)
	producer := newTestProducer(t, WithSource("//svc-test"))
	ctx := testContext(t)
	sent := map[int]*structpb.Struct{}
	for i := range 30 {
		sent[i] = event(t, i, "zone-"+strconv.Itoa(i%4), map[string]any{"tags": []any{"a", float64(i)}})
		if err := Send(ctx, producer, topic, sent[i]); err != nil {
			t.Fatal(err)
		}
	}

	consumer := newTestConsumer(t, WithStopAfter(30))
	received := map[int]*structpb.Struct{}
	partitionOfZone := map[string]int32{}
	err := Consume(ctx, consumer, topic, func(_ context.Context, m *structpb.Struct, md Metadata) error {
		received[eventID(m)] = m
		zone := m.GetFields()["zone"].GetStringValue()
		if string(md.Key) != zone || md.Type != "google.protobuf.Struct" || md.Source != "//svc-test" ||
			md.ID == "" || md.Time.IsZero() || md.Group != consumer.Group() || md.Topic != topic.Name {
			t.Errorf("metadata %+v", md)
		}
		if p, seen := partitionOfZone[zone]; seen && p != md.Partition {
			t.Errorf("key %s on partitions %d and %d", zone, p, md.Partition)
		}
		partitionOfZone[zone] = md.Partition
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(received) != len(sent) {
		t.Fatalf("received %d of %d", len(received), len(sent))
	}
	for id, want := range sent {
		if !proto.Equal(received[id], want) {
			t.Errorf("message %d: got %v, want %v", id, received[id], want)
		}
	}
	assertAllCommitted(t, consumer.Group(), topic.Name)
}

// Records that are not the bound type, do not decode, or whose handler keeps
// failing go to the dead-letter topic with the envelope's headers; the good
// records after them are still handled, and every offset is committed.
func TestBadRecordsAreDeadLetteredAndConsumptionGoesOn(t *testing.T) {
	requireKafka(t)
	topic := structTestTopic(t, 1)
	producer := newTestProducer(t)
	ctx := testContext(t)

	// Another producer's bug: a StringValue labelled as such on this topic.
	impostor := Topic[*wrapperspb.StringValue]{Name: topic.Name, New: func() *wrapperspb.StringValue { return new(wrapperspb.StringValue) }}
	wrongType, err := impostor.Encode(wrapperspb.String("not a struct"))
	if err != nil {
		t.Fatal(err)
	}
	wrongType.Key = []byte("k-wrong")
	garbage, err := topic.Encode(event(t, 0, "z", nil))
	if err != nil {
		t.Fatal(err)
	}
	garbage.Key, garbage.Value = []byte("k-garbage"), []byte{0x0a, 0x64, 'x'}
	bare := &kgo.Record{Topic: topic.Name, Value: []byte("no headers at all")}

	mustSend := func(m *structpb.Struct) {
		if err := Send(ctx, producer, topic, m); err != nil {
			t.Fatal(err)
		}
	}
	mustProduce := func(r *kgo.Record) {
		if err := producer.Client().ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	mustSend(event(t, 1, "z", nil))                                 // offset 0
	mustProduce(wrongType)                                          // 1
	mustProduce(garbage)                                            // 2
	mustProduce(bare)                                               // 3
	mustSend(event(t, 2, "z-poison", map[string]any{"fail": true})) // 4
	mustSend(event(t, 3, "z", nil))                                 // 5

	consumer := newTestConsumer(t, WithStopAfter(6), WithRetries(2), WithBackoff(time.Millisecond, 4*time.Millisecond))
	var handled []int
	attempts := 0
	err = Consume(ctx, consumer, topic, func(_ context.Context, m *structpb.Struct, _ Metadata) error {
		if m.GetFields()["fail"].GetBoolValue() {
			attempts++
			return errors.New("downstream said no\n(second line)")
		}
		handled = append(handled, eventID(m))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(handled, []int{1, 3}) || attempts != 3 {
		t.Fatalf("handled %v with %d attempts on the poison message, want [1 3] and 3", handled, attempts)
	}
	assertAllCommitted(t, consumer.Group(), topic.Name)

	letters := readTopic(t, topic.DLQName(), 4)
	want := []struct {
		offset int64
		reason string
		record *kgo.Record
	}{
		{1, DLQReasonWrongType, wrongType},
		{2, DLQReasonDecodeError, garbage},
		{3, DLQReasonWrongType, bare},
		{4, DLQReasonHandlerError, nil},
	}
	for i, letter := range letters {
		w := want[i]
		if got := header(letter, DLQHeaderReason); got != w.reason {
			t.Errorf("letter %d: reason %q, want %q", i, got, w.reason)
		}
		if header(letter, DLQHeaderTopic) != topic.Name || header(letter, DLQHeaderPartition) != "0" ||
			header(letter, DLQHeaderOffset) != strconv.FormatInt(w.offset, 10) || header(letter, DLQHeaderGroup) != consumer.Group() {
			t.Errorf("letter %d: headers %v", i, letter.Headers)
		}
		if e := header(letter, DLQHeaderError); e == "" || slices.Contains([]byte(e), '\n') {
			t.Errorf("letter %d: error header %q is not one line", i, e)
		}
		if w.record != nil {
			if string(letter.Key) != string(w.record.Key) || string(letter.Value) != string(w.record.Value) {
				t.Errorf("letter %d: key %q value %x, want the original", i, letter.Key, letter.Value)
			}
			for _, h := range w.record.Headers {
				if header(letter, h.Key) != string(h.Value) {
					t.Errorf("letter %d: original header %s lost", i, h.Key)
				}
			}
		}
	}
	if header(letters[0], HeaderType) != "google.protobuf.StringValue" {
		t.Errorf("the wrong-type letter lost its ce_type")
	}
	if e := header(letters[3], DLQHeaderError); e != "downstream said no (second line)" || string(letters[3].Key) != "z-poison" {
		t.Errorf("handler-error letter: error %q key %q", e, letters[3].Key)
	}
}

// A record whose handler was interrupted is not committed: the next member
// of the group gets it again (at least once).
func TestUncommittedRecordIsDeliveredAgain(t *testing.T) {
	requireKafka(t)
	topic := structTestTopic(t, 1)
	producer := newTestProducer(t)
	ctx := testContext(t)
	for i := range 5 {
		if err := Send(ctx, producer, topic, event(t, i, "z", nil)); err != nil {
			t.Fatal(err)
		}
	}
	group := "group.redelivery." + strconv.FormatInt(time.Now().UnixNano(), 10)
	first, err := NewConsumer(group)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	runCtx, stop := context.WithCancel(ctx)
	var firstSaw []int
	err = Consume(runCtx, first, topic, func(ctx context.Context, m *structpb.Struct, _ Metadata) error {
		firstSaw = append(firstSaw, eventID(m))
		if eventID(m) == 2 {
			stop() // shutting down while record 2 is in flight
			return ctx.Err()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Consume returned %v, want context.Canceled", err)
	}
	if committed := committedOffsets(t, group, topic.Name)[0]; committed != 2 {
		t.Fatalf("committed %d after handling 0 and 1, want 2", committed)
	}

	second, err := NewConsumer(group, WithStopAfter(3))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	var secondSaw []int
	err = Consume(ctx, second, topic, func(_ context.Context, m *structpb.Struct, _ Metadata) error {
		secondSaw = append(secondSaw, eventID(m))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(firstSaw, []int{0, 1, 2}) || !slices.Equal(secondSaw, []int{2, 3, 4}) {
		t.Fatalf("first saw %v, second %v", firstSaw, secondSaw)
	}
	assertAllCommitted(t, group, topic.Name)
}

func TestConsumeBatch(t *testing.T) {
	requireKafka(t)
	topic := structTestTopic(t, 2)
	producer := newTestProducer(t)
	ctx := testContext(t)
	for i := range 25 {
		if err := Send(ctx, producer, topic, event(t, i, "zone-"+strconv.Itoa(i%3), nil)); err != nil {
			t.Fatal(err)
		}
		if i == 12 {
			garbage := &kgo.Record{Topic: topic.Name, Key: []byte("zone-0"), Value: []byte{0xff},
				Headers: []kgo.RecordHeader{{Key: HeaderType, Value: []byte("google.protobuf.Struct")}}}
			if err := producer.Client().ProduceSync(ctx, garbage).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}

	consumer := newTestConsumer(t, WithStopAfter(26))
	var sizes []int
	seen := map[int]bool{}
	err := ConsumeBatch(ctx, consumer, topic, func(_ context.Context, batch []*structpb.Struct, metadata []Metadata) error {
		if len(batch) != len(metadata) {
			t.Errorf("%d messages, %d metadata", len(batch), len(metadata))
		}
		sizes = append(sizes, len(batch))
		for i, m := range batch {
			seen[eventID(m)] = true
			if string(metadata[i].Key) != m.GetFields()["zone"].GetStringValue() {
				t.Errorf("metadata %d does not belong to message %v", i, m)
			}
		}
		return nil
	}, 10, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 25 {
		t.Fatalf("handled %d distinct messages, want 25", len(seen))
	}
	for _, size := range sizes {
		if size < 1 || size > 10 {
			t.Fatalf("batch sizes %v, want 1..10", sizes)
		}
	}
	t.Logf("batch sizes %v", sizes)
	letter := readTopic(t, topic.DLQName(), 1)[0]
	if header(letter, DLQHeaderReason) != DLQReasonDecodeError {
		t.Errorf("letter headers %v", letter.Headers)
	}
	assertAllCommitted(t, consumer.Group(), topic.Name)
}

func TestFailingBatchIsRetriedThenDeadLettered(t *testing.T) {
	requireKafka(t)
	topic := structTestTopic(t, 1)
	producer := newTestProducer(t)
	ctx := testContext(t)
	for i := range 3 {
		if err := Send(ctx, producer, topic, event(t, i, "z", nil)); err != nil {
			t.Fatal(err)
		}
	}
	consumer := newTestConsumer(t, WithStopAfter(3), WithRetries(1), WithBackoff(time.Millisecond, time.Millisecond))
	var mu sync.Mutex
	calls := 0
	err := ConsumeBatch(ctx, consumer, topic, func(context.Context, []*structpb.Struct, []Metadata) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return errors.New("database unavailable")
	}, 10, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Errorf("handler called %d times, want 2 (1 retry)", calls)
	}
	for i, letter := range readTopic(t, topic.DLQName(), 3) {
		if header(letter, DLQHeaderReason) != DLQReasonHandlerError || header(letter, DLQHeaderOffset) != strconv.Itoa(i) {
			t.Errorf("letter %d: headers %v", i, letter.Headers)
		}
	}
	assertAllCommitted(t, consumer.Group(), topic.Name)
}
