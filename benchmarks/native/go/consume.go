package main

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"

	auditv1 "example.com/registry/gen/audit/v1"
	contracts "github.com/contractsdev/contracts/runtime/go"
)

// consumeTimer times a consumer from the end of its first handler call
// (the group is joined and records flow) to the moment the last record
// was handled; the close that follows (final commit, leaving the group)
// is not part of the throughput.
type consumeTimer struct {
	settings settings
	total    int // records the consumer handles, the first call's included
	mu       sync.Mutex
	seen     int
	first    int // records of the first call
	watch    *stopwatch
	result   run
	err      error
}

func (t *consumeTimer) handled(records int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seen += records
	switch {
	case t.watch == nil:
		t.first = t.seen
		t.watch, t.err = startWatch(t.settings)
	case t.seen == t.total:
		t.result = t.watch.stop(t.seen - t.first)
	}
}

func (t *consumeTimer) done() (run, error) {
	if t.err != nil {
		return run{}, t.err
	}
	if t.seen != t.total || t.result.Records == 0 {
		return run{}, fmt.Errorf("handled %d of %d records (first call: %d)", t.seen, t.total, t.first)
	}
	return t.result, nil
}

// downstream stands for one round trip to the system the handler writes
// to (a database insert, an HTTP call): time spent waiting, not computing.
// It is a nanosleep rather than time.Sleep: Go's timers wake a 500 µs sleep
// after about 1.1 ms on this kind of machine, while a real round trip
// wakes the netpoller when the answer arrives, and Python's and Rust's
// sleeps take 0.55 ms.
func downstream(cost time.Duration) {
	if cost > 0 {
		ts := syscall.NsecToTimespec(cost.Nanoseconds())
		for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
		}
	}
}

func newConsumer(s settings, total int) (*contracts.Consumer, error) {
	return contracts.NewConsumer(s.group, contracts.WithBootstrapServers(s.bootstrap...), contracts.WithStopAfter(total))
}

// consumeRecords: contracts.Consume, one handler call per record; reads
// 1 + s.records records from the start of the topic.
func consumeRecords(ctx context.Context, s settings) (run, error) {
	timer := &consumeTimer{settings: s, total: s.records + 1}
	consumer, err := newConsumer(s, timer.total)
	if err != nil {
		return run{}, err
	}
	defer consumer.Close()
	err = contracts.Consume(ctx, consumer, auditTopic(s.topic),
		func(_ context.Context, _ *auditv1.AuditEvent, _ contracts.Metadata) error {
			downstream(s.handlerCost)
			timer.handled(1)
			return nil
		})
	if err != nil {
		return run{}, err
	}
	return timer.done()
}

// consumeBatches: contracts.ConsumeBatch, one handler call per batch of up
// to s.batchSize records, waiting at most 100 ms to fill one (as in
// benchmarks/sdk.py).
func consumeBatches(ctx context.Context, s settings) (run, error) {
	timer := &consumeTimer{settings: s, total: s.records + 1}
	consumer, err := newConsumer(s, timer.total)
	if err != nil {
		return run{}, err
	}
	defer consumer.Close()
	err = contracts.ConsumeBatch(ctx, consumer, auditTopic(s.topic),
		func(_ context.Context, events []*auditv1.AuditEvent, _ []contracts.Metadata) error {
			downstream(s.handlerCost)
			timer.handled(len(events))
			return nil
		}, s.batchSize, 100*time.Millisecond)
	if err != nil {
		return run{}, err
	}
	return timer.done()
}
