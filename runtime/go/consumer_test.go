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

	consumer := newTestConsumer(t, WithStopAfter(6), WithRetryPolicy(RetryPolicy{Attempts: 3, BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond}))
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
		{2, DLQReasonDecode, garbage},
		{3, DLQReasonWrongType, bare},
		{4, DLQReasonHandler, nil},
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
		t.Errorf("handler letter: error %q key %q", e, letters[3].Key)
	}
}

// Stopping lets the handler call in flight finish: a call that succeeds is
// stored, one that fails is neither retried nor dead-lettered, and the next
// member of the group reads that record again (at least once).
func TestStopFinishesTheRecordInFlight(t *testing.T) {
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
	run := func(stopAt int, result error) ([]int, error) {
		consumer, err := NewConsumer(group, WithRetryPolicy(RetryPolicy{Attempts: 3, BaseDelay: time.Millisecond}))
		if err != nil {
			t.Fatal(err)
		}
		defer consumer.Close()
		runCtx, stop := context.WithCancel(ctx)
		defer stop()
		var saw []int
		err = Consume(runCtx, consumer, topic, func(ctx context.Context, m *structpb.Struct, _ Metadata) error {
			saw = append(saw, eventID(m))
			if eventID(m) != stopAt {
				return nil
			}
			stop() // shutting down while this record is in flight
			time.Sleep(100 * time.Millisecond)
			if ctx.Err() != nil {
				t.Errorf("the handler's context was cancelled by stop: %v", ctx.Err())
			}
			return result
		})
		return saw, err
	}

	saw, err := run(1, nil)
	if !errors.Is(err, context.Canceled) || !slices.Equal(saw, []int{0, 1}) {
		t.Fatalf("first member saw %v and returned %v, want [0 1] and context.Canceled", saw, err)
	}
	if committed := committedOffsets(t, group, topic.Name)[0]; committed != 2 {
		t.Fatalf("committed %d after handling 0 and 1, want 2", committed)
	}
	saw, err = run(2, errors.New("interrupted"))
	if !errors.Is(err, context.Canceled) || !slices.Equal(saw, []int{2}) {
		t.Fatalf("second member saw %v and returned %v, want [2] (no retry) and context.Canceled", saw, err)
	}
	if committed := committedOffsets(t, group, topic.Name)[0]; committed != 2 {
		t.Fatalf("committed %d after a failed call while stopping, want 2", committed)
	}
	saw, err = run(4, nil) // stops after the last record
	if !errors.Is(err, context.Canceled) || !slices.Equal(saw, []int{2, 3, 4}) {
		t.Fatalf("third member saw %v and returned %v, want [2 3 4]", saw, err)
	}
	assertAllCommitted(t, group, topic.Name)
	if ends := endOffsets(t, topic.DLQName()); ends[0] != 0 {
		t.Fatalf("%d dead letters, want none", ends[0])
	}
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
	if header(letter, DLQHeaderReason) != DLQReasonDecode {
		t.Errorf("letter headers %v", letter.Headers)
	}
	assertAllCommitted(t, consumer.Group(), topic.Name)
}

// A batch that keeps failing is handed over one record at a time, each with
// attempts of its own: only the record that still fails is dead-lettered,
// with every call that contained it counted.
func TestFailingBatchFallsBackToOneRecordAtATime(t *testing.T) {
	requireKafka(t)
	topic := structTestTopic(t, 1)
	producer := newTestProducer(t)
	ctx := testContext(t)
	for i := range 3 {
		if err := Send(ctx, producer, topic, event(t, i, "z", map[string]any{"bad": i == 1})); err != nil {
			t.Fatal(err)
		}
	}
	consumer := newTestConsumer(t, WithStopAfter(3), WithRetryPolicy(RetryPolicy{Attempts: 2, BaseDelay: time.Millisecond}))
	var mu sync.Mutex
	var calls [][]int
	err := ConsumeBatch(ctx, consumer, topic, func(_ context.Context, batch []*structpb.Struct, _ []Metadata) error {
		mu.Lock()
		defer mu.Unlock()
		var ids []int
		var failed error
		for _, m := range batch {
			ids = append(ids, eventID(m))
			if m.GetFields()["bad"].GetBoolValue() {
				failed = errors.New("record 1 is refused downstream")
			}
		}
		calls = append(calls, ids)
		return failed
	}, 10, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{0, 1, 2}, {0, 1, 2}, {0}, {1}, {1}, {2}}
	if !slices.EqualFunc(calls, want, slices.Equal[[]int]) {
		t.Errorf("handler calls %v, want %v", calls, want)
	}
	letters := readTopic(t, topic.DLQName(), 1)
	if ends := endOffsets(t, topic.DLQName()); ends[0] != 1 {
		t.Errorf("%d dead letters, want only record 1's", ends[0])
	}
	letter := letters[0]
	if header(letter, DLQHeaderReason) != DLQReasonHandler || header(letter, DLQHeaderOffset) != "1" || header(letter, DLQHeaderAttempts) != "4" {
		t.Errorf("letter headers %v", letter.Headers)
	}
	assertAllCommitted(t, consumer.Group(), topic.Name)
}

// A dead letter that is replayed and fails again gets a fresh set of
// contracts_dlq_* headers, except the first failure time, which is kept.
func TestReplayedDeadLetterKeepsItsFirstFailureTime(t *testing.T) {
	requireKafka(t)
	topic := structTestTopic(t, 1)
	producer := newTestProducer(t)
	ctx := testContext(t)
	replayed, err := topic.Encode(event(t, 1, "z", nil))
	if err != nil {
		t.Fatal(err)
	}
	replayed.Headers = append(replayed.Headers,
		kgo.RecordHeader{Key: DLQHeaderReason, Value: []byte("decode")},
		kgo.RecordHeader{Key: DLQHeaderAttempts, Value: []byte("0")},
		kgo.RecordHeader{Key: DLQHeaderFirstFailureTime, Value: []byte("2026-01-02T03:04:05.678Z")},
		kgo.RecordHeader{Key: DLQHeaderLastFailureTime, Value: []byte("2026-01-02T03:04:05.678Z")},
		kgo.RecordHeader{Key: "contracts_dlq_something_older", Value: []byte("x")},
	)
	if err := producer.Client().ProduceSync(ctx, replayed).FirstErr(); err != nil {
		t.Fatal(err)
	}
	consumer := newTestConsumer(t, WithStopAfter(1), WithRetryPolicy(RetryPolicy{Attempts: 1}))
	before := time.Now().UTC().Add(-time.Second)
	err = Consume(ctx, consumer, topic, func(context.Context, *structpb.Struct, Metadata) error { return errors.New("still failing") })
	if err != nil {
		t.Fatal(err)
	}
	letter := readTopic(t, topic.DLQName(), 1)[0]
	counts := map[string]int{}
	for _, h := range letter.Headers {
		counts[h.Key]++
	}
	for key, n := range counts {
		if n != 1 {
			t.Errorf("header %s appears %d times", key, n)
		}
	}
	if counts["contracts_dlq_something_older"] != 0 {
		t.Errorf("an earlier dlq header survived: %v", letter.Headers)
	}
	last, err := time.Parse(TimeLayout, header(letter, DLQHeaderLastFailureTime))
	if err != nil || last.Before(before) {
		t.Errorf("last failure time %q (%v)", header(letter, DLQHeaderLastFailureTime), err)
	}
	if header(letter, DLQHeaderFirstFailureTime) != "2026-01-02T03:04:05.678Z" || header(letter, DLQHeaderReason) != DLQReasonHandler ||
		header(letter, DLQHeaderAttempts) != "1" || header(letter, DLQHeaderError) != "still failing" || header(letter, HeaderType) != "google.protobuf.Struct" {
		t.Errorf("letter headers %v", letter.Headers)
	}
}
