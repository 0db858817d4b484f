// Command e2e produces and consumes the example registry's topics through the
// generated Go bindings and the Go runtime, for tests/test_e2e.py.
//
//	e2e produce TOPIC N                 # messages 0..N-1 (messages.go); one JSON line per delivery
//	e2e consume TOPIC GROUP N           # N records (dead-lettered ones count); one JSON line per message
//	e2e consume-batch TOPIC GROUP N     # the same through ConsumeBatch; lines carry their batch number
//
// TOPIC is a binding's topic name (audit.events.v1, email.dispatch.v1,
// preferences.changed.v1) or that name plus "." and a suffix: the binding is
// then used on that topic instead, so each test can have fresh topics. The
// brokers come from KAFKA_BOOTSTRAP_SERVERS (and the other KAFKA_* variables
// the runtime reads); E2E_TIMEOUT_SECONDS (default 60) bounds a run.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"example.com/registry/gen/topics"
	contracts "github.com/contractsdev/contracts/runtime/go"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// source is this program's ce_source, so readers can tell who wrote a record.
const source = "//e2e-go"

// batchSize and batchWait are consume-batch's ConsumeBatch arguments.
const (
	batchSize = 100
	batchWait = 200 * time.Millisecond
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
}

type command struct {
	name  string // produce, consume or consume-batch
	topic string
	group string
	count int
}

func run(args []string) error {
	cmd, err := parseArgs(args)
	if err != nil {
		return err
	}
	if os.Getenv("KAFKA_BOOTSTRAP_SERVERS") == "" {
		return errors.New("KAFKA_BOOTSTRAP_SERVERS is not set")
	}
	timeout := 60 * time.Second
	if value := os.Getenv("E2E_TIMEOUT_SECONDS"); value != "" {
		seconds, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return fmt.Errorf("E2E_TIMEOUT_SECONDS=%q: %w", value, err)
		}
		timeout = time.Duration(seconds * float64(time.Second))
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	switch {
	case bindingOf(cmd.topic, topics.AuditEventsV1.Name):
		return execute(ctx, cmd, rebind(topics.AuditEventsV1, cmd.topic), auditEvent)
	case bindingOf(cmd.topic, topics.EmailDispatchV1.Name):
		return execute(ctx, cmd, rebind(topics.EmailDispatchV1, cmd.topic), emailMessage)
	case bindingOf(cmd.topic, topics.PreferencesChangedV1.Name):
		return execute(ctx, cmd, rebind(topics.PreferencesChangedV1, cmd.topic), preferenceChanged)
	}
	return fmt.Errorf("topic %q is not a binding's topic (or one of them plus .SUFFIX)", cmd.topic)
}

func parseArgs(args []string) (command, error) {
	usage := errors.New("usage: e2e produce TOPIC N | e2e consume TOPIC GROUP N | e2e consume-batch TOPIC GROUP N")
	if len(args) < 3 {
		return command{}, usage
	}
	cmd := command{name: args[0], topic: args[1]}
	countArg := args[2]
	switch cmd.name {
	case "produce":
		if len(args) != 3 {
			return command{}, usage
		}
	case "consume", "consume-batch":
		if len(args) != 4 {
			return command{}, usage
		}
		cmd.group, countArg = args[2], args[3]
	default:
		return command{}, usage
	}
	count, err := strconv.Atoi(countArg)
	if err != nil || count < 1 {
		return command{}, fmt.Errorf("N must be a positive integer, got %q", countArg)
	}
	cmd.count = count
	return cmd, nil
}

func bindingOf(topic, bindingName string) bool {
	return topic == bindingName || strings.HasPrefix(topic, bindingName+".")
}

// rebind is the generated binding on another topic name: same type, key and
// settings. Topic is a plain struct, so the copy is the whole override.
func rebind[T proto.Message](topic contracts.Topic[T], name string) contracts.Topic[T] {
	topic.Name = name
	return topic
}

func execute[T proto.Message](ctx context.Context, cmd command, topic contracts.Topic[T], build func(int) T) error {
	switch cmd.name {
	case "produce":
		return produce(ctx, topic, build, cmd.count)
	case "consume":
		return consume(ctx, topic, cmd.group, cmd.count)
	default:
		return consumeBatch(ctx, topic, cmd.group, cmd.count)
	}
}

// delivery is one line of produce's output.
type delivery struct {
	Index     int    `json:"index"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Key       string `json:"key"`
	ID        string `json:"ce_id"`
}

func produce[T proto.Message](ctx context.Context, topic contracts.Topic[T], build func(int) T, count int) error {
	producer, err := contracts.NewProducer(contracts.WithSource(source))
	if err != nil {
		return err
	}
	deliveries := make([]delivery, count)
	var (
		mu     sync.Mutex
		failed error
	)
	for index := range count {
		contracts.SendAsync(ctx, producer, topic, build(index), func(record *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed = errors.Join(failed, fmt.Errorf("message %d: %w", index, err))
				return
			}
			id, _ := header(record.Headers, contracts.HeaderID)
			deliveries[index] = delivery{index, record.Partition, record.Offset, string(record.Key), id}
		})
	}
	if err := errors.Join(producer.Close(), failed); err != nil {
		return err
	}
	for _, d := range deliveries {
		if err := printJSON(d); err != nil {
			return err
		}
	}
	return nil
}

// received is one line of consume's output: where the record was, its
// headers, and the decoded message as canonical protobuf JSON.
type received struct {
	Batch     *int              `json:"batch,omitempty"`
	Partition int32             `json:"partition"`
	Offset    int64             `json:"offset"`
	Key       *string           `json:"key"` // null for a null key
	Headers   map[string]string `json:"headers"`
	// Time is ce_time as the runtime parsed it (Metadata.Time), in ce_time's
	// format; null when the runtime could not parse it.
	Time    *string         `json:"time"`
	Message json.RawMessage `json:"message"`
}

func consume[T proto.Message](ctx context.Context, topic contracts.Topic[T], group string, count int) error {
	consumer, err := contracts.NewConsumer(group, contracts.WithStopAfter(count))
	if err != nil {
		return err
	}
	defer consumer.Close()
	err = contracts.Consume(ctx, consumer, topic, func(_ context.Context, msg T, md contracts.Metadata) error {
		return printReceived(nil, msg, md)
	})
	return stopped(err, count)
}

func consumeBatch[T proto.Message](ctx context.Context, topic contracts.Topic[T], group string, count int) error {
	consumer, err := contracts.NewConsumer(group, contracts.WithStopAfter(count))
	if err != nil {
		return err
	}
	defer consumer.Close()
	batch := 0
	err = contracts.ConsumeBatch(ctx, consumer, topic, func(_ context.Context, msgs []T, mds []contracts.Metadata) error {
		for i, msg := range msgs {
			if err := printReceived(&batch, msg, mds[i]); err != nil {
				return err
			}
		}
		batch++
		return nil
	}, batchSize, batchWait)
	return stopped(err, count)
}

func stopped(err error, count int) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("E2E_TIMEOUT_SECONDS passed before %d records were consumed: %w", count, err)
	}
	return err
}

func printReceived[T proto.Message](batch *int, msg T, md contracts.Metadata) error {
	text, err := protojson.Marshal(msg)
	if err != nil {
		return err
	}
	// protojson varies its spacing on purpose; compact it to one stable line.
	var compact bytes.Buffer
	if err := json.Compact(&compact, text); err != nil {
		return err
	}
	headers := make(map[string]string, len(md.Headers))
	for _, h := range md.Headers {
		headers[h.Key] = string(h.Value)
	}
	var batchNumber *int
	if batch != nil {
		number := *batch
		batchNumber = &number
	}
	var parsedTime *string
	if !md.Time.IsZero() {
		text := md.Time.UTC().Format(contracts.TimeLayout)
		parsedTime = &text
	}
	var key *string
	if md.Key != nil {
		text := string(md.Key)
		key = &text
	}
	return printJSON(received{batchNumber, md.Partition, md.Offset, key, headers, parsedTime, compact.Bytes()})
}

func header(headers []kgo.RecordHeader, key string) (string, bool) {
	for _, h := range headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

func printJSON(value any) error {
	line, err := json.Marshal(value)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(os.Stdout, "%s\n", line)
	return err
}
