package contracts

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"
)

// Producer defaults: safe first (idempotent, acks from all in-sync
// replicas), then throughput (lz4, a short linger to fill batches).
const (
	DefaultLinger          = 5 * time.Millisecond
	DefaultDeliveryTimeout = 2 * time.Minute
)

// producerDefaults are the franz-go options every producing client gets;
// idempotence is franz-go's default and stays on.
func producerDefaults() []kgo.Opt {
	return []kgo.Opt{
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.Lz4Compression()),
		kgo.ProducerLinger(DefaultLinger),
		kgo.RecordDeliveryTimeout(DefaultDeliveryTimeout),
		// Keyed records go to murmur2(key) % partitions, as with Kafka's Java
		// client: the same key lands on the same partition whichever
		// language's producer wrote it, if those producers hash the same
		// way (librdkafka needs partitioner=murmur2_random for that).
		kgo.RecordPartitioner(kgo.UniformBytesPartitioner(64<<10, true, true, nil)),
	}
}

type producerConfig struct {
	client clientConfig
	source string
}

type producerOption func(*producerConfig)

func (o producerOption) applyProducer(c *producerConfig) { o(c) }

// WithSource sets the producer's ce_source, a URI-reference naming the
// service (e.g. "//svc-audit"); the default is "contracts".
func WithSource(source string) ProducerOption {
	return producerOption(func(c *producerConfig) { c.source = source })
}

// Producer sends typed messages with [Send] and [SendAsync]. It is safe for
// concurrent use.
type Producer struct {
	client *kgo.Client
	owned  bool
	cfg    producerConfig

	checkedTopics sync.Map // topic name -> struct{}: checked once per producer

	mu       sync.Mutex
	asyncErr error // delivery errors of SendAsync calls without a promise
}

// NewProducer connects to Kafka with the options and the KAFKA_* environment.
// It fails within the connect timeout when the brokers cannot be reached or a
// required topic is missing.
func NewProducer(opts ...ProducerOption) (*Producer, error) {
	cfg := producerConfig{source: DefaultSource}
	for _, opt := range opts {
		opt.applyProducer(&cfg)
	}
	if err := cfg.client.resolve(os.Getenv); err != nil {
		return nil, err
	}
	client, err := cfg.client.newClient(producerDefaults())
	if err != nil {
		return nil, err
	}
	return &Producer{client: client, owned: true, cfg: cfg}, nil
}

// NewProducerFromClient wraps a franz-go client the caller configured and
// owns: Close flushes but does not close it. Connection options are ignored;
// WithSource, WithConnectTimeout and WithLogger apply.
func NewProducerFromClient(client *kgo.Client, opts ...ProducerOption) *Producer {
	cfg := producerConfig{source: DefaultSource}
	for _, opt := range opts {
		opt.applyProducer(&cfg)
	}
	if cfg.client.connectTimeout <= 0 {
		cfg.client.connectTimeout = DefaultConnectTimeout
	}
	return &Producer{client: client, cfg: cfg}
}

// Client returns the underlying franz-go client.
func (p *Producer) Client() *kgo.Client { return p.client }

// Send encodes msg for the topic and produces it, waiting until the broker
// acknowledged it or delivery failed. The topic is checked to exist on its
// first use by this producer.
func Send[T proto.Message](ctx context.Context, p *Producer, topic Topic[T], msg T, opts ...EncodeOption) error {
	record, err := p.prepare(ctx, topic.Name, func(source EncodeOption) (*kgo.Record, error) {
		return topic.Encode(msg, append([]EncodeOption{source}, opts...)...)
	})
	if err != nil {
		return err
	}
	if err := p.client.ProduceSync(ctx, record).FirstErr(); err != nil {
		return deliveryError(record, err)
	}
	return nil
}

// SendAsync encodes msg and produces it without waiting; promise is called
// once with the delivery result (or the encoding error). With a nil promise a
// delivery error is kept and returned by the next Flush or Close, never
// dropped.
func SendAsync[T proto.Message](ctx context.Context, p *Producer, topic Topic[T], msg T, promise func(*kgo.Record, error), opts ...EncodeOption) {
	if promise == nil {
		promise = p.keepAsyncError
	}
	record, err := p.prepare(ctx, topic.Name, func(source EncodeOption) (*kgo.Record, error) {
		return topic.Encode(msg, append([]EncodeOption{source}, opts...)...)
	})
	if err != nil {
		promise(record, err)
		return
	}
	p.client.Produce(ctx, record, func(r *kgo.Record, err error) {
		if err != nil {
			err = deliveryError(r, err)
		}
		promise(r, err)
	})
}

// prepare checks the topic and encodes the record with the producer's source
// as the default.
func (p *Producer) prepare(ctx context.Context, topicName string, encode func(EncodeOption) (*kgo.Record, error)) (*kgo.Record, error) {
	if err := p.checkTopic(ctx, topicName); err != nil {
		return nil, err
	}
	return encode(WithEventSource(p.cfg.source))
}

func (p *Producer) checkTopic(ctx context.Context, name string) error {
	if _, ok := p.checkedTopics.Load(name); ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.client.connectTimeout)
	defer cancel()
	if err := p.cfg.client.checkTopics(ctx, p.client, name); err != nil {
		return err
	}
	p.checkedTopics.Store(name, struct{}{})
	return nil
}

func (p *Producer) keepAsyncError(_ *kgo.Record, err error) {
	if err == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asyncErr = errors.Join(p.asyncErr, err)
}

// Flush waits until every record sent so far is delivered or failed, and
// returns the delivery errors of SendAsync calls made without a promise.
func (p *Producer) Flush(ctx context.Context) error {
	err := p.client.Flush(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	err, p.asyncErr = errors.Join(err, p.asyncErr), nil
	return err
}

// Close flushes outstanding records (bounded by the delivery timeout), then
// closes the client if the producer created it.
func (p *Producer) Close() error {
	err := p.Flush(context.Background())
	if p.owned {
		p.client.Close()
	}
	return err
}

func deliveryError(r *kgo.Record, err error) error {
	typeName, _ := headerValue(r.Headers, HeaderType)
	return fmt.Errorf("contracts: delivering %s to topic %q failed: %w", typeName, r.Topic, err)
}
