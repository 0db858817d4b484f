package contracts

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestSendWritesTheEnvelope(t *testing.T) {
	requireKafka(t)
	topic := structTestTopic(t, 3)
	producer := newTestProducer(t, WithSource("//svc-test"))
	ctx := testContext(t)
	sent := event(t, 1, "zone-7", map[string]any{"nested": map[string]any{"b": true}})
	if err := Send(ctx, producer, topic, sent, WithHeader("ce_subject", []byte("zone-7"))); err != nil {
		t.Fatal(err)
	}
	record := readTopic(t, topic.Name, 1)[0]
	if string(record.Key) != "zone-7" {
		t.Errorf("key %q", record.Key)
	}
	var got structpb.Struct
	if err := proto.Unmarshal(record.Value, &got); err != nil || !proto.Equal(&got, sent) {
		t.Errorf("value %v (%v), want %v", &got, err, sent)
	}
	for key, want := range map[string]string{
		"ce_specversion": "1.0", "ce_source": "//svc-test", "ce_type": "google.protobuf.Struct",
		"content-type": "application/protobuf", "ce_subject": "zone-7",
	} {
		if got := header(record, key); got != want {
			t.Errorf("header %s = %q, want %q", key, got, want)
		}
	}
}

func TestSendAsyncReportsEveryDelivery(t *testing.T) {
	requireKafka(t)
	topic := structTestTopic(t, 1)
	producer := newTestProducer(t)
	ctx := testContext(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var offsets []int64
	for i := range 50 {
		wg.Add(1)
		SendAsync(ctx, producer, topic, event(t, i, "z", nil), func(r *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			offsets = append(offsets, r.Offset)
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(offsets) != 50 {
		t.Fatalf("%d deliveries reported", len(offsets))
	}
	if err := producer.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// A delivery that fails is returned, never swallowed: by Send directly, and
// for SendAsync without a promise, by the next Flush.
func TestDeliveryErrorsAreReturned(t *testing.T) {
	requireKafka(t)
	topic := structTestTopic(t, 1)
	producer := newTestProducer(t)
	ctx := testContext(t)
	tooLarge := event(t, 1, "z", map[string]any{"blob": strings.Repeat("x", 2<<20)})
	err := Send(ctx, producer, topic, tooLarge)
	if err == nil || !strings.Contains(err.Error(), "delivering google.protobuf.Struct to topic") {
		t.Fatalf("Send of a 2 MiB record: %v", err)
	}
	SendAsync(ctx, producer, topic, tooLarge, nil)
	if err := producer.Flush(ctx); err == nil {
		t.Fatal("Flush forgot the failed SendAsync")
	}
	if err := producer.Flush(ctx); err != nil {
		t.Fatalf("the error was reported twice: %v", err)
	}
}

func TestMissingTopicFailsClearly(t *testing.T) {
	requireKafka(t)
	missing := Topic[*structpb.Struct]{Name: "test.missing.topic", TypeName: "google.protobuf.Struct",
		New: func() *structpb.Struct { return new(structpb.Struct) }}

	_, err := NewProducer(WithRequiredTopics(missing.Name))
	if !errors.Is(err, ErrTopicNotFound) || !strings.Contains(err.Error(), `"test.missing.topic" does not exist`) {
		t.Errorf("NewProducer: %v", err)
	}

	producer := newTestProducer(t)
	start := time.Now()
	err = Send(testContext(t), producer, missing, &structpb.Struct{})
	if !errors.Is(err, ErrTopicNotFound) || time.Since(start) > 5*time.Second {
		t.Errorf("Send after %s: %v", time.Since(start), err)
	}

	consumer := newTestConsumer(t)
	err = Consume(testContext(t), consumer, missing, func(ctx context.Context, m *structpb.Struct, md Metadata) error { return nil })
	if !errors.Is(err, ErrTopicNotFound) {
		t.Errorf("Consume: %v", err)
	}

	// A topic without its dead-letter topic cannot be consumed safely.
	topic := structTestTopic(t, 1)
	admin := kadm.NewClient(rawClient(t))
	if _, err := admin.DeleteTopics(testContext(t), topic.DLQName()); err != nil {
		t.Fatal(err)
	}
	// Deletion is asynchronous: wait until the cluster no longer lists it, so the check below sees
	// a missing topic rather than one being deleted.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		listed, err := admin.ListTopics(testContext(t), topic.DLQName())
		if err == nil && !listed.Has(topic.DLQName()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still listed 30 s after its deletion (%v)", topic.DLQName(), err)
		}
	}
	err = Consume(testContext(t), consumer, topic, func(ctx context.Context, m *structpb.Struct, md Metadata) error { return nil })
	if !errors.Is(err, ErrTopicNotFound) || !strings.Contains(err.Error(), topic.DLQName()) {
		t.Errorf("Consume without dlq: %v", err)
	}
}

// Keyed records go where Kafka's Java client puts them: murmur2(key) masked
// to 31 bits, modulo the partition count. The hashes are the Java client's
// test vectors.
func TestKeyedRecordsLandOnTheJavaPartition(t *testing.T) {
	requireKafka(t)
	topic := structTestTopic(t, 12)
	producer := newTestProducer(t)
	ctx := testContext(t)
	javaHash := map[string]int32{"21": -973932308, "foobar": -790332482}
	for key := range javaHash {
		if err := Send(ctx, producer, topic, event(t, 1, key, nil)); err != nil {
			t.Fatal(err)
		}
	}
	for _, record := range readTopic(t, topic.Name, len(javaHash)) {
		want := (javaHash[string(record.Key)] & 0x7fffffff) % 12
		if record.Partition != want {
			t.Errorf("key %q on partition %d, Java puts it on %d", record.Key, record.Partition, want)
		}
	}
}

func TestProducerFromClientLeavesTheClientOpen(t *testing.T) {
	requireKafka(t)
	topic := structTestTopic(t, 1)
	client := rawClient(t)
	producer := NewProducerFromClient(client, WithSource("//borrowed"))
	ctx := testContext(t)
	if err := Send(ctx, producer, topic, event(t, 1, "z", nil)); err != nil {
		t.Fatal(err)
	}
	if err := producer.Close(); err != nil {
		t.Fatal(err)
	}
	if err := client.Ping(ctx); err != nil {
		t.Fatalf("the caller's client was closed: %v", err)
	}
	if got := header(readTopic(t, topic.Name, 1)[0], HeaderSource); got != "//borrowed" {
		t.Fatalf("ce_source %q", got)
	}
	err := Send(ctx, NewProducerFromClient(client), Topic[*structpb.Struct]{Name: "test.missing.topic", TypeName: "google.protobuf.Struct",
		New: func() *structpb.Struct { return new(structpb.Struct) }}, &structpb.Struct{})
	if !errors.Is(err, ErrTopicNotFound) || !strings.Contains(err.Error(), "does not exist on the cluster") {
		t.Fatalf("missing topic: %v", err)
	}
}
