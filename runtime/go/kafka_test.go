package contracts

// Helpers for the tests that need a real broker. They are skipped unless
// KAFKA_BOOTSTRAP_SERVERS is set (scripts/kafka start prints it).

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/types/known/structpb"
)

const kafkaTestTimeout = 60 * time.Second

func requireKafka(t *testing.T) {
	t.Helper()
	if os.Getenv(EnvBootstrapServers) == "" {
		t.Skip("set KAFKA_BOOTSTRAP_SERVERS to run against a broker (eval \"$(scripts/kafka start)\")")
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), kafkaTestTimeout)
	t.Cleanup(cancel)
	return ctx
}

// rawClient is a plain franz-go client with the environment's connection
// settings, plus opts: the tests' independent view of the cluster.
func rawClient(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cfg := clientConfig{}
	if err := cfg.resolve(os.Getenv); err != nil {
		t.Fatal(err)
	}
	connection, err := cfg.connectionOptions()
	if err != nil {
		t.Fatal(err)
	}
	client, err := kgo.NewClient(append(connection, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	return client
}

var topicCounter atomic.Int64

// structTestTopic creates a fresh topic and its dlq for one test, bound to
// google.protobuf.Struct and keyed by the message's "zone" field.
func structTestTopic(t *testing.T, partitions int32) Topic[*structpb.Struct] {
	t.Helper()
	name := fmt.Sprintf("test.%s.%d.%d", strings.ToLower(strings.ReplaceAll(t.Name(), "/", ".")), time.Now().UnixNano(), topicCounter.Add(1))
	topic := Topic[*structpb.Struct]{
		Name:     name,
		TypeName: "google.protobuf.Struct",
		New:      func() *structpb.Struct { return new(structpb.Struct) },
		Key:      func(m *structpb.Struct) []byte { return KeyString(m.GetFields()["zone"].GetStringValue()) },
		Settings: Settings{Partitions: partitions, ReplicationFactor: 1, RetentionMs: 3600000, CleanupPolicy: "delete"},
	}
	client := rawClient(t)
	admin := kadm.NewClient(client)
	if err := CreateTopics(testContext(t), client, topic.Spec()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = admin.DeleteTopics(ctx, topic.Name, topic.DLQName())
	})
	return topic
}

func event(t *testing.T, id int, zone string, extra map[string]any) *structpb.Struct {
	t.Helper()
	fields := map[string]any{"id": float64(id), "zone": zone}
	for k, v := range extra {
		fields[k] = v
	}
	msg, err := structpb.NewStruct(fields)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func eventID(m *structpb.Struct) int { return int(m.GetFields()["id"].GetNumberValue()) }

func newTestProducer(t *testing.T, opts ...ProducerOption) *Producer {
	t.Helper()
	producer, err := NewProducer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := producer.Close(); err != nil {
			t.Error(err)
		}
	})
	return producer
}

func newTestConsumer(t *testing.T, opts ...ConsumerOption) *Consumer {
	t.Helper()
	consumer, err := NewConsumer(fmt.Sprintf("group.%s.%d", t.Name(), time.Now().UnixNano()), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(consumer.Close)
	return consumer
}

// readTopic reads n records of a topic from the start without a group.
func readTopic(t *testing.T, topic string, n int) []*kgo.Record {
	t.Helper()
	client := rawClient(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var records []*kgo.Record
	for len(records) < n {
		fetches := client.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records from %s", len(records), n, topic)
		}
		records = append(records, fetches.Records()...)
	}
	return records
}

// committedOffsets returns the group's committed offset per partition.
func committedOffsets(t *testing.T, group, topic string) map[int32]int64 {
	t.Helper()
	admin := kadm.NewClient(rawClient(t))
	offsets, err := admin.FetchOffsets(testContext(t), group)
	if err != nil {
		t.Fatal(err)
	}
	committed := map[int32]int64{}
	offsets.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic {
			committed[o.Partition] = o.At
		}
	})
	return committed
}

// endOffsets returns the high watermark per partition.
func endOffsets(t *testing.T, topic string) map[int32]int64 {
	t.Helper()
	admin := kadm.NewClient(rawClient(t))
	ends, err := admin.ListEndOffsets(testContext(t), topic)
	if err != nil {
		t.Fatal(err)
	}
	result := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { result[o.Partition] = o.Offset })
	return result
}

func assertAllCommitted(t *testing.T, group, topic string) {
	t.Helper()
	committed, ends := committedOffsets(t, group, topic), endOffsets(t, topic)
	for partition, end := range ends {
		if end > 0 && committed[partition] != end {
			t.Errorf("partition %d: committed %d, end %d (committed %v)", partition, committed[partition], end, committed)
		}
	}
}

func header(r *kgo.Record, key string) string {
	v, _ := headerValue(r.Headers, key)
	return v
}
