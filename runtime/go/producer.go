package contracts

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
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
	// The entry of the topic written last: most producers write one topic,
	// and one atomic load is cheaper per record than a sync.Map lookup.
	lastTopic atomic.Pointer[producerTopic]

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
// no label lookup, no span name concatenation and one lookup at most.
type producerTopic struct {
	name     string
	spanName string // "send {topic}"
	// checked is set once the topic was found to exist, after series: a
	// topic that does not exist gets no series.
	checked atomic.Bool
	series  *topicMetrics
	checkMu sync.Mutex // one check at a time
}

func (p *Producer) topic(name string) *producerTopic {
	if t := p.lastTopic.Load(); t != nil && t.name == name {
		return t
	}
	found, ok := p.topics.Load(name)
	if !ok {
		found, _ = p.topics.LoadOrStore(name, &producerTopic{name: name, spanName: "send " + name})
	}
	t := found.(*producerTopic)
	p.lastTopic.Store(t)
	return t
}

// Client returns the underlying franz-go client.
func (p *Producer) Client() *kgo.Client { return p.client }

// Send encodes msg for the topic and produces it, waiting until the broker
// acknowledged it or delivery failed. The topic is checked to exist on its
// first use by this producer. In the topic's mode ValidationReject (the
// default) msg is validated first: an invalid message is a *ValidationError
// and nothing is sent.
func Send[T proto.Message](ctx context.Context, p *Producer, topic Topic[T], msg T, opts ...EncodeOption) error {
	record, entry, err := prepare(ctx, p, topic, msg, opts)
	if err != nil {
		return err
	}
	span, start := p.startSend(ctx, entry, record)
	// ProduceSync, unlike Produce and a wait, sends the record's batch at
	// once instead of after the linger: a caller that waits for each ack
	// would otherwise wait the linger (5 ms) on every record.
	r, err := p.client.ProduceSync(ctx, record).First()
	return entry.delivered(span, start, r, err)
}

// SendAsync encodes msg and produces it without waiting; promise is called
// once with the delivery result (or the encoding error). With a nil promise a
// delivery error is kept and returned by the next Flush or Close, never
// dropped.
func SendAsync[T proto.Message](ctx context.Context, p *Producer, topic Topic[T], msg T, promise func(*kgo.Record, error), opts ...EncodeOption) {
	if promise == nil {
		promise = p.keepAsyncError
	}
	record, entry, err := prepare(ctx, p, topic, msg, opts)
	if err != nil {
		promise(record, err)
		return
	}
	span, start := p.startSend(ctx, entry, record)
	// One closure per record, holding all the delivery needs.
	p.client.Produce(ctx, record, func(r *kgo.Record, err error) {
		promise(r, entry.delivered(span, start, r, err))
	})
}

// startSend starts the record's span and returns it with the start of its
// latency clock: when the record was made (Encode set its timestamp to the
// time it read for ce_time), unless the caller chose the event time.
func (p *Producer) startSend(ctx context.Context, topic *producerTopic, record *kgo.Record) (trace.Span, time.Time) {
	span := p.tracer.startSend(ctx, topic.spanName, record)
	if record.Timestamp.IsZero() {
		return span, time.Now()
	}
	return span, record.Timestamp
}

// delivered counts Kafka's answer, ends the span and returns a
// *DeliveryError when the record was not acknowledged.
func (t *producerTopic) delivered(span trace.Span, start time.Time, r *kgo.Record, err error) error {
	if err != nil {
		t.series.produceErrors.Inc()
		err = deliveryError(r, err)
	} else {
		t.series.produced.Inc()
		t.series.produceLatency.Observe(time.Since(start).Seconds())
	}
	endSend(span, r, err)
	return err
}

// prepare checks the topic, validates msg when the topic's mode rejects
// invalid messages, and encodes the record with the producer's source as
// the default.
func prepare[T proto.Message](ctx context.Context, p *Producer, topic Topic[T], msg T, opts []EncodeOption) (*kgo.Record, *producerTopic, error) {
	entry := p.topic(topic.Name)
	if err := p.checkTopic(ctx, entry); err != nil {
		return nil, nil, err
	}
	if err := topic.validateOnSend(msg); err != nil {
		return nil, nil, err
	}
	o := encodeOptions{source: p.cfg.source}
	for _, opt := range opts {
		opt(&o)
	}
	record, err := topic.encode(msg, &o)
	return record, entry, err
}

// checkTopic checks once per producer that the topic exists.
func (p *Producer) checkTopic(ctx context.Context, topic *producerTopic) error {
	if topic.checked.Load() {
		return nil
	}
	topic.checkMu.Lock()
	defer topic.checkMu.Unlock()
	if topic.checked.Load() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.client.connectTimeout)
	defer cancel()
	if err := p.cfg.client.checkTopics(ctx, p.client, topic.name); err != nil {
		return err
	}
	topic.series = p.metrics.producerSeries(topic.name)
	topic.checked.Store(true)
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
