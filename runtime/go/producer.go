package contracts

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel"
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
	client  *kgo.Client
	owned   bool
	cfg     producerConfig
	state   *clientState
	metrics *metrics
	tracer  tracer
	topics  sync.Map // topic name -> *producerTopic

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
	p := newProducer(cfg)
	client, err := cfg.client.newClient(append(producerDefaults(), kgo.WithHooks(p.state)))
	if err != nil {
		return nil, err
	}
	p.client, p.owned = client, true
	go p.state.probe(client)
	return p, nil
}

func newProducer(cfg producerConfig) *Producer {
	m := metricsFor(cfg.client.registerer)
	return &Producer{
		cfg:     cfg,
		state:   newClientState("producer", 0, m.gatherer),
		metrics: m,
		tracer:  newTracer(cfg.client.tracerProvider, ""),
	}
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
	if cfg.client.registerer == nil {
		cfg.client.registerer = prometheus.DefaultRegisterer
	}
	if cfg.client.tracerProvider == nil {
		cfg.client.tracerProvider = otel.GetTracerProvider()
	}
	p := newProducer(cfg)
	p.client = client
	go p.state.probe(client)
	return p
}

func (p *Producer) healthState() *clientState { return p.state }

// producerTopic is what a producer keeps per topic, so that a record pays
// no label lookup and no span name concatenation.
type producerTopic struct {
	series   *topicMetrics
	spanName string // "send {topic}"
}

func (p *Producer) topic(name string) *producerTopic {
	if t, ok := p.topics.Load(name); ok {
		return t.(*producerTopic)
	}
	t, _ := p.topics.LoadOrStore(name, &producerTopic{series: p.metrics.producerSeries(name), spanName: "send " + name})
	return t.(*producerTopic)
}

// Client returns the underlying franz-go client.
func (p *Producer) Client() *kgo.Client { return p.client }

// Send encodes msg for the topic and produces it, waiting until the broker
// acknowledged it or delivery failed. The topic is checked to exist on its
// first use by this producer. In the topic's mode ValidationReject (the
// default) msg is validated first: an invalid message is a *ValidationError
// and nothing is sent.
func Send[T proto.Message](ctx context.Context, p *Producer, topic Topic[T], msg T, opts ...EncodeOption) error {
	record, err := prepare(ctx, p, topic, msg, opts)
	if err != nil {
		return err
	}
	delivered := p.startDelivery(ctx, record)
	// ProduceSync, unlike Produce and a wait, sends the record's batch at
	// once instead of after the linger: a caller that waits for each ack
	// would otherwise wait the linger (5 ms) on every record.
	return delivered(p.client.ProduceSync(ctx, record).First())
}

// produce sends an encoded record with its span and metrics; promise gets
// a *DeliveryError when Kafka did not acknowledge it.
func (p *Producer) produce(ctx context.Context, record *kgo.Record, promise func(*kgo.Record, error)) {
	delivered := p.startDelivery(ctx, record)
	p.client.Produce(ctx, record, func(r *kgo.Record, err error) { promise(r, delivered(r, err)) })
}

// startDelivery starts the record's span and latency clock; the function
// it returns counts Kafka's answer, ends the span and returns a
// *DeliveryError when the record was not acknowledged.
func (p *Producer) startDelivery(ctx context.Context, record *kgo.Record) func(*kgo.Record, error) error {
	topic := p.topic(record.Topic)
	span := p.tracer.startSend(ctx, topic.spanName, record)
	series := topic.series
	// The latency clock starts when the record was made: Encode set its
	// timestamp to the time it read for ce_time, unless the caller chose
	// the event time.
	start := record.Timestamp
	if start.IsZero() {
		start = time.Now()
	}
	return func(r *kgo.Record, err error) error {
		if err != nil {
			series.produceErrors.Inc()
			err = deliveryError(r, err)
		} else {
			series.produced.Inc()
			series.produceLatency.Observe(time.Since(start).Seconds())
		}
		endSend(span, r, err)
		return err
	}
}

// SendAsync encodes msg and produces it without waiting; promise is called
// once with the delivery result (or the encoding error). With a nil promise a
// delivery error is kept and returned by the next Flush or Close, never
// dropped.
func SendAsync[T proto.Message](ctx context.Context, p *Producer, topic Topic[T], msg T, promise func(*kgo.Record, error), opts ...EncodeOption) {
	if promise == nil {
		promise = p.keepAsyncError
	}
	record, err := prepare(ctx, p, topic, msg, opts)
	if err != nil {
		promise(record, err)
		return
	}
	p.produce(ctx, record, promise)
}

// prepare checks the topic, validates msg when the topic's mode rejects
// invalid messages, and encodes the record with the producer's source as
// the default.
func prepare[T proto.Message](ctx context.Context, p *Producer, topic Topic[T], msg T, opts []EncodeOption) (*kgo.Record, error) {
	if err := p.checkTopic(ctx, topic.Name); err != nil {
		return nil, err
	}
	if err := topic.validateOnSend(msg); err != nil {
		return nil, err
	}
	o := encodeOptions{source: p.cfg.source}
	for _, opt := range opts {
		opt(&o)
	}
	return topic.encode(msg, &o)
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
	p.state.close()
	if p.owned {
		p.client.Close()
	}
	return err
}

func deliveryError(r *kgo.Record, err error) error {
	typeName, _ := headerValue(r.Headers, HeaderType)
	return &DeliveryError{Topic: r.Topic, TypeName: typeName, Err: err}
}
