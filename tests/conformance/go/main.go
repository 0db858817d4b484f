// Command driver is the Go conformance driver: it runs the Go runtime as
// tests/conformance/PROTOCOL.md says, configured by the environment, and
// reports what happened as JSON lines on stdout.
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	auditv1 "example.com/registry/gen/audit/v1"
	"example.com/registry/gen/topics"
	contracts "github.com/contractsdev/contracts/runtime/go"
	"github.com/twmb/franz-go/pkg/kgo"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func main() {
	if len(os.Args) != 2 || (os.Args[1] != "consume" && os.Args[1] != "produce") {
		fmt.Fprintln(os.Stderr, "usage: driver consume|produce (settings from the environment, see PROTOCOL.md)")
		os.Exit(2)
	}
	provider := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spanPrinter{}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	cfg := readConfig()
	options := []contracts.Option{
		contracts.WithConnectTimeout(cfg.timeout),
		contracts.WithRequiredTopics(cfg.topic.Name),
		contracts.WithTracerProvider(provider),
	}
	var err error
	if os.Args[1] == "consume" {
		err = consume(ctx, cfg, options)
	} else {
		err = produce(ctx, cfg, options)
	}
	_ = provider.Shutdown(context.Background())
	if err != nil && !errors.Is(err, context.Canceled) {
		kind := contracts.ErrorKind(err)
		if kind == "" {
			kind = "Error"
		}
		emit(map[string]any{"event": "error", "kind": kind, "message": err.Error()})
		os.Exit(3)
	}
	emit(map[string]any{"event": "stopped"})
}

type config struct {
	topic     contracts.Topic[*auditv1.AuditEvent]
	group     string
	batch     bool
	batchMax  int
	retry     contracts.RetryPolicy
	httpPort  int
	stopAfter int
	count     int
	keys      []string
	timeout   time.Duration
}

func readConfig() config {
	cfg := config{
		topic:     topics.AuditEventsV1,
		group:     env("CONFORMANCE_GROUP", "conformance-go"),
		batch:     env("CONFORMANCE_MODE", "record") == "batch",
		batchMax:  envInt("CONFORMANCE_BATCH_MAX", 100),
		httpPort:  envInt("CONFORMANCE_HTTP_PORT", 0),
		stopAfter: envInt("CONFORMANCE_STOP_AFTER", 0),
		count:     envInt("CONFORMANCE_COUNT", 1),
		timeout:   time.Duration(envInt("CONFORMANCE_TIMEOUT_MS", 10000)) * time.Millisecond,
		retry: contracts.RetryPolicy{
			Attempts:  envInt("CONFORMANCE_ATTEMPTS", 3),
			BaseDelay: time.Duration(envInt("CONFORMANCE_BASE_DELAY_MS", 10)) * time.Millisecond,
		},
	}
	// Another topic of the registry bound to the same message type.
	cfg.topic.Name = env("CONFORMANCE_TOPIC", topics.AuditEventsV1.Name)
	for _, key := range strings.Split(os.Getenv("CONFORMANCE_KEYS"), ",") {
		if key = strings.TrimSpace(key); key != "" {
			cfg.keys = append(cfg.keys, key)
		}
	}
	if len(cfg.keys) == 0 {
		cfg.keys = []string{"ok-1"}
	}
	return cfg
}

func env(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}

func envInt(name string, fallback int) int {
	value := os.Getenv(name)
	if value == "" {
		return fallback
	}
	n, err := strconv.Atoi(value)
	if err != nil {
		fmt.Fprintf(os.Stderr, "driver: %s=%q is not an integer\n", name, value)
		os.Exit(2)
	}
	return n
}

func consume(ctx context.Context, cfg config, options []contracts.Option) error {
	consumerOptions := []contracts.ConsumerOption{
		contracts.WithRetryPolicy(cfg.retry),
		contracts.WithStopAfter(cfg.stopAfter),
		contracts.WithRequiredTopics(cfg.topic.DLQName()),
	}
	for _, option := range options {
		consumerOptions = append(consumerOptions, option)
	}
	consumer, err := contracts.NewConsumer(cfg.group, consumerOptions...)
	if err != nil {
		return err
	}
	defer consumer.Close()
	if cfg.httpPort > 0 {
		server, err := contracts.ServeHealth("127.0.0.1:"+strconv.Itoa(cfg.httpPort), consumer)
		if err != nil {
			return err
		}
		defer server.Close()
	}
	emit(map[string]any{"event": "started"})
	h := &handler{calls: map[[2]int64]int{}}
	if cfg.batch {
		return contracts.ConsumeBatch(ctx, consumer, cfg.topic, h.batch, cfg.batchMax, 200*time.Millisecond)
	}
	return contracts.Consume(ctx, consumer, cfg.topic, func(ctx context.Context, event *auditv1.AuditEvent, md contracts.Metadata) error {
		return h.batch(ctx, []*auditv1.AuditEvent{event}, []contracts.Metadata{md})
	})
}

// handler behaves as each record's zone_id says (PROTOCOL.md) and counts
// the calls that contained each record.
type handler struct {
	mu    sync.Mutex
	calls map[[2]int64]int // (partition, offset) -> calls
}

func (h *handler) batch(_ context.Context, events []*auditv1.AuditEvent, mds []contracts.Metadata) error {
	h.mu.Lock()
	attempts := make([]int, len(events))
	for i, md := range mds {
		key := [2]int64{int64(md.Partition), md.Offset}
		h.calls[key]++
		attempts[i] = h.calls[key]
	}
	h.mu.Unlock()
	var failed []string
	for i, event := range events {
		if !behave(event.GetZoneId(), attempts[i]) {
			failed = append(failed, event.GetZoneId())
		}
	}
	for i, event := range events {
		emit(map[string]any{
			"event": "handled", "partition": mds[i].Partition, "offset": mds[i].Offset, "zone_id": event.GetZoneId(),
			"attempt": attempts[i], "ok": len(failed) == 0, "batch_size": len(events),
		})
	}
	if len(failed) > 0 {
		return fmt.Errorf("handler refused %s", strings.Join(failed, ", "))
	}
	return nil
}

// behave runs the zone's behaviour for the record's attempt-th call and
// says whether it succeeded.
func behave(zone string, attempt int) bool {
	parts := strings.SplitN(zone, "-", 3)
	number := func() int {
		if len(parts) < 2 {
			return 0
		}
		n, _ := strconv.Atoi(parts[1])
		return n
	}
	switch parts[0] {
	case "fail":
		return attempt > number()
	case "always":
		return false
	case "sleep":
		time.Sleep(time.Duration(number()) * time.Millisecond)
		return true
	case "stuck":
		select {} // until the process is killed
	}
	return true
}

func produce(ctx context.Context, cfg config, options []contracts.Option) error {
	producerOptions := make([]contracts.ProducerOption, 0, len(options))
	for _, option := range options {
		producerOptions = append(producerOptions, option)
	}
	producer, err := contracts.NewProducer(producerOptions...)
	if err != nil {
		return err
	}
	emit(map[string]any{"event": "started"})
	var wg sync.WaitGroup
	for i := range cfg.count {
		if ctx.Err() != nil {
			break
		}
		zone := cfg.keys[i%len(cfg.keys)]
		event := &auditv1.AuditEvent{EventId: fmt.Sprintf("conformance-go-%d-%d", time.Now().UnixNano(), i), ZoneId: zone}
		wg.Add(1)
		contracts.SendAsync(ctx, producer, cfg.topic, event, func(r *kgo.Record, err error) {
			defer wg.Done()
			if err == nil {
				emit(map[string]any{"event": "produced", "partition": r.Partition, "offset": r.Offset, "zone_id": zone})
			}
		})
	}
	wg.Wait()
	return errors.Join(producer.Close())
}

// output serializes the JSON lines: one write per line, unbuffered.
var output sync.Mutex

func emit(event map[string]any) {
	line, err := json.Marshal(event)
	if err != nil {
		panic(err)
	}
	output.Lock()
	defer output.Unlock()
	_, _ = os.Stdout.Write(append(line, '\n'))
}

// spanPrinter is an in-process span exporter printing every ended span.
type spanPrinter struct{}

func (spanPrinter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	for _, span := range spans {
		attributes := map[string]any{}
		for _, kv := range span.Attributes() {
			attributes[string(kv.Key)] = kv.Value.AsInterface()
		}
		var parent any
		if span.Parent().IsValid() {
			id := span.Parent().SpanID()
			parent = hex.EncodeToString(id[:])
		}
		traceID := span.SpanContext().TraceID()
		emit(map[string]any{
			"event": "span", "name": span.Name(), "kind": strings.ToUpper(span.SpanKind().String()),
			"trace_id": hex.EncodeToString(traceID[:]), "parent_span_id": parent, "attributes": attributes,
		})
	}
	return nil
}

func (spanPrinter) Shutdown(context.Context) error { return nil }
