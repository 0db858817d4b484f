package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	auditv1 "example.com/registry/gen/audit/v1"
	contracts "github.com/contractsdev/contracts/runtime/go"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"
)

// rawProducerOptions are the typed producer's settings (runtime/go's
// producerDefaults), spelled out for the raw client: idempotent (franz-go's
// default), acks=all, lz4, linger 5 ms, murmur2 key partitioning.
func rawProducerOptions(bootstrap []string) []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(bootstrap...),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.Lz4Compression()),
		kgo.ProducerLinger(contracts.DefaultLinger),
		kgo.RecordDeliveryTimeout(contracts.DefaultDeliveryTimeout),
		kgo.RecordPartitioner(kgo.UniformBytesPartitioner(64<<10, true, true, nil)),
	}
}

// deliveries counts failed deliveries from producer promises.
type deliveries struct {
	failed atomic.Int64
	mu     sync.Mutex
	first  error
}

func (d *deliveries) promise(_ *kgo.Record, err error) {
	if err != nil {
		d.failed.Add(1)
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.first == nil {
			d.first = err
		}
	}
}

func (d *deliveries) check(records int) error {
	if failed := d.failed.Load(); failed > 0 {
		return fmt.Errorf("%d of %d records not delivered, first: %w", failed, records, d.first)
	}
	return nil
}

func newTypedProducer(s settings) (*contracts.Producer, error) {
	return contracts.NewProducer(contracts.WithBootstrapServers(s.bootstrap...))
}

func newRawClient(ctx context.Context, s settings) (*kgo.Client, error) {
	client, err := kgo.NewClient(rawProducerOptions(s.bootstrap)...)
	if err != nil {
		return nil, err
	}
	// NewProducer checks the cluster before it returns: connect the raw
	// client too before the clock starts.
	if err := client.Ping(ctx); err != nil {
		client.Close()
		return nil, err
	}
	return client, nil
}

// produceTyped: SendAsync for every record, then Flush (the counterpart of
// Python's Producer.send + flush).
func produceTyped(ctx context.Context, s settings) (run, error) {
	events, topic := makeEvents(), auditTopic(s.topic)
	producer, err := newTypedProducer(s)
	if err != nil {
		return run{}, err
	}
	defer producer.Close()
	var check deliveries
	watch, err := startWatch(s)
	if err != nil {
		return run{}, err
	}
	for i := range s.records {
		contracts.SendAsync(ctx, producer, topic, events[i%len(events)], check.promise)
	}
	if err := producer.Flush(ctx); err != nil {
		return run{}, err
	}
	result := watch.stop(s.records)
	return result, check.check(s.records)
}

// produceRaw: the textbook franz-go loop writing what Send writes: the
// protobuf bytes, the key and the envelope's six headers.
func produceRaw(ctx context.Context, s settings) (run, error) {
	events := makeEvents()
	client, err := newRawClient(ctx, s)
	if err != nil {
		return run{}, err
	}
	defer client.Close()
	headers := newEnvelopeHeaders()
	var check deliveries
	watch, err := startWatch(s)
	if err != nil {
		return run{}, err
	}
	for i := range s.records {
		record, err := rawRecord(s.topic, events[i%len(events)], headers)
		if err != nil {
			return run{}, err
		}
		client.Produce(ctx, record, check.promise)
	}
	if err := client.Flush(ctx); err != nil {
		return run{}, err
	}
	result := watch.stop(s.records)
	return result, check.check(s.records)
}

// marshalOptions are the typed producer's: deterministic, so that both
// sides write the same bytes (map entries sorted by key).
var marshalOptions = proto.MarshalOptions{Deterministic: true}

func rawRecord(topic string, event *auditv1.AuditEvent, headers *envelopeHeaders) (*kgo.Record, error) {
	value, err := marshalOptions.Marshal(event)
	if err != nil {
		return nil, err
	}
	return &kgo.Record{Topic: topic, Key: []byte(event.GetZoneId()), Value: value, Headers: headers.next()}, nil
}

// envelopeHeaders writes the six CloudEvents headers the way a careful
// user of the raw client would: constant values shared, a fresh ce_id and
// ce_time per record.
type envelopeHeaders struct {
	idPrefix []byte
	counter  atomic.Uint64
}

var (
	specVersion = []byte(contracts.SpecVersion)
	source      = []byte(contracts.DefaultSource)
	typeName    = []byte("audit.v1.AuditEvent")
	contentType = []byte(contracts.ContentType)
)

func newEnvelopeHeaders() *envelopeHeaders {
	var random [16]byte
	_, _ = rand.Read(random[:])
	return &envelopeHeaders{idPrefix: []byte(hex.EncodeToString(random[:]) + "-")}
}

func (h *envelopeHeaders) next() []kgo.RecordHeader {
	id := strconv.AppendUint(append(make([]byte, 0, len(h.idPrefix)+20), h.idPrefix...), h.counter.Add(1), 10)
	now := time.Now().UTC().AppendFormat(make([]byte, 0, len(contracts.TimeLayout)), contracts.TimeLayout)
	return []kgo.RecordHeader{
		{Key: contracts.HeaderSpecVersion, Value: specVersion},
		{Key: contracts.HeaderID, Value: id},
		{Key: contracts.HeaderSource, Value: source},
		{Key: contracts.HeaderType, Value: typeName},
		{Key: contracts.HeaderTime, Value: now},
		{Key: contracts.HeaderContentType, Value: contentType},
	}
}

// sendTyped: contracts.Send, which waits for the broker's ack, from
// -concurrency goroutines sharing one producer.
func sendTyped(ctx context.Context, s settings) (run, error) {
	events, topic := makeEvents(), auditTopic(s.topic)
	producer, err := newTypedProducer(s)
	if err != nil {
		return run{}, err
	}
	defer producer.Close()
	return concurrently(s, func(i int) error {
		return contracts.Send(ctx, producer, topic, events[i%len(events)])
	})
}

// sendRaw: franz-go's ProduceSync from -concurrency goroutines.
func sendRaw(ctx context.Context, s settings) (run, error) {
	events := makeEvents()
	client, err := newRawClient(ctx, s)
	if err != nil {
		return run{}, err
	}
	defer client.Close()
	headers := newEnvelopeHeaders()
	return concurrently(s, func(i int) error {
		record, err := rawRecord(s.topic, events[i%len(events)], headers)
		if err != nil {
			return err
		}
		return client.ProduceSync(ctx, record).FirstErr()
	})
}

// concurrently calls send for records 0..s.records-1, shared out among
// s.concurrency goroutines, and times the whole.
func concurrently(s settings, send func(int) error) (run, error) {
	var next atomic.Int64
	errs := make([]error, s.concurrency)
	var wg sync.WaitGroup
	watch, err := startWatch(s)
	if err != nil {
		return run{}, err
	}
	for g := range s.concurrency {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < s.records; i = int(next.Add(1) - 1) {
				if err := send(i); err != nil {
					errs[g] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return watch.stop(s.records), errors.Join(errs...)
}

// fill writes the records the consumers read, with the typed producer.
func fill(ctx context.Context, s settings) (run, error) {
	return produceTyped(ctx, s)
}
