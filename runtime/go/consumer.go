package contracts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"
)

// Dead-letter headers and reasons (docs/envelope.md).
const (
	DLQHeaderReason    = "contracts_dlq_reason"
	DLQHeaderError     = "contracts_dlq_error"
	DLQHeaderTopic     = "contracts_dlq_topic"
	DLQHeaderPartition = "contracts_dlq_partition"
	DLQHeaderOffset    = "contracts_dlq_offset"
	DLQHeaderGroup     = "contracts_dlq_group"

	DLQReasonWrongType    = "wrong-type"
	DLQReasonDecodeError  = "decode-error"
	DLQReasonHandlerError = "handler-error"
)

// Consumer defaults.
const (
	DefaultRetries        = 3
	DefaultBackoffInitial = 100 * time.Millisecond
	DefaultBackoffMax     = 5 * time.Second
	pollRecords           = 500
)

type consumerConfig struct {
	client         clientConfig
	retries        int
	backoffInitial time.Duration
	backoffMax     time.Duration
	stopAfter      int
}

type consumerOption func(*consumerConfig)

func (o consumerOption) applyConsumer(c *consumerConfig) { o(c) }

// WithRetries sets how many times a failing handler is called again before
// its record (or batch) is dead-lettered; 0 dead-letters on the first error.
// The default is DefaultRetries.
func WithRetries(n int) ConsumerOption {
	return consumerOption(func(c *consumerConfig) { c.retries = n })
}

// WithBackoff sets the wait before the first retry and its cap; the wait
// doubles after every failed attempt.
func WithBackoff(initial, maximum time.Duration) ConsumerOption {
	return consumerOption(func(c *consumerConfig) { c.backoffInitial, c.backoffMax = initial, maximum })
}

// WithStopAfter makes Consume and ConsumeBatch return nil once n records
// (handled or dead-lettered) are committed; 0, the default, never stops.
func WithStopAfter(n int) ConsumerOption {
	return consumerOption(func(c *consumerConfig) { c.stopAfter = n })
}

// Consumer consumes typed records in a consumer group with [Consume] and
// [ConsumeBatch], at least once: a record's offset is committed only after
// its handler succeeded or the record was written to the dead-letter topic.
type Consumer struct {
	group  string
	cfg    consumerConfig
	client *kgo.Client // checks brokers and topics; each Consume call has its own group client
}

// NewConsumer connects to Kafka with the options and the KAFKA_* environment
// for the consumer group. It fails within the connect timeout when the
// brokers cannot be reached or a required topic is missing.
func NewConsumer(group string, opts ...ConsumerOption) (*Consumer, error) {
	if group == "" {
		return nil, configError("the consumer group id is empty")
	}
	cfg := consumerConfig{retries: DefaultRetries, backoffInitial: DefaultBackoffInitial, backoffMax: DefaultBackoffMax}
	for _, opt := range opts {
		opt.applyConsumer(&cfg)
	}
	if cfg.retries < 0 || cfg.stopAfter < 0 || cfg.backoffInitial < 0 || cfg.backoffMax < cfg.backoffInitial {
		return nil, configError("retries %d, stop after %d, backoff %s..%s: use values >= 0 and initial <= max",
			cfg.retries, cfg.stopAfter, cfg.backoffInitial, cfg.backoffMax)
	}
	if err := cfg.client.resolve(os.Getenv); err != nil {
		return nil, err
	}
	client, err := cfg.client.newClient(nil)
	if err != nil {
		return nil, err
	}
	return &Consumer{group: group, cfg: cfg, client: client}, nil
}

// Group returns the consumer group id.
func (c *Consumer) Group() string { return c.group }

// Close releases the consumer's connections. Consume calls in progress keep
// their own client until they return.
func (c *Consumer) Close() { c.client.Close() }

// Metadata describes the record a handler receives.
type Metadata struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Timestamp time.Time // the Kafka record timestamp
	Headers   []kgo.RecordHeader
	// The CloudEvents attributes; Time is zero when ce_time is missing or invalid.
	ID     string
	Source string
	Type   string
	Time   time.Time
	Group  string
}

// Consume calls handler with every record of the topic, one at a time, in
// partition order, and commits each record's offset after handler returned
// nil. A handler error is retried with exponential backoff, then the record
// goes to the dead-letter topic; so does a record of another type or with
// undecodable bytes, without reaching the handler. Either way consumption
// goes on. The topic and its dead-letter topic must exist.
//
// Consume returns nil after WithStopAfter records, ctx.Err() once ctx is done
// (the record in progress is not committed and will be delivered again), or
// the error that stopped it, e.g. a dead-letter write that failed.
func Consume[T proto.Message](ctx context.Context, c *Consumer, topic Topic[T], handler func(context.Context, T, Metadata) error) error {
	s, err := c.open(ctx, topic.Name, topic.DLQName())
	if err != nil {
		return err
	}
	for !s.stopped() {
		records, err := s.poll(ctx, ctx, s.pollSize(pollRecords, 0))
		if err != nil {
			return s.close(err)
		}
		for _, record := range records {
			if ctx.Err() != nil {
				return s.close(ctx.Err())
			}
			if err := consumeRecord(ctx, s, topic, handler, record); err != nil {
				return s.close(err)
			}
			s.mark(record)
		}
		s.client.AllowRebalance()
	}
	return s.close(nil)
}

func consumeRecord[T proto.Message](ctx context.Context, s *session, topic Topic[T], handler func(context.Context, T, Metadata) error, record *kgo.Record) error {
	msg, err := topic.Decode(record.Value, record.Headers)
	if err != nil {
		return s.deadLetter(ctx, record, decodeFailureReason(err), err)
	}
	metadata := s.metadata(record)
	handlerErr, stopErr := s.withRetries(ctx, func() error { return handler(ctx, msg, metadata) })
	if stopErr != nil {
		return stopErr
	}
	if handlerErr != nil {
		return s.deadLetter(ctx, record, DLQReasonHandlerError, handlerErr)
	}
	return nil
}

// ConsumeBatch is Consume for handlers that pay a cost per call: it collects
// up to maxRecords decoded messages, waiting at most maxWait after the first
// record arrived, and calls handler once for them. A failing batch is retried
// as a whole, then each of its records is dead-lettered. Records of another
// type or with undecodable bytes are dead-lettered as they arrive. Offsets
// are committed after the batch is handled.
func ConsumeBatch[T proto.Message](ctx context.Context, c *Consumer, topic Topic[T], handler func(context.Context, []T, []Metadata) error, maxRecords int, maxWait time.Duration) error {
	if maxRecords <= 0 {
		return configError("ConsumeBatch needs maxRecords > 0, got %d", maxRecords)
	}
	s, err := c.open(ctx, topic.Name, topic.DLQName())
	if err != nil {
		return err
	}
	for !s.stopped() {
		if err := consumeBatch(ctx, s, topic, handler, maxRecords, maxWait); err != nil {
			return s.close(err)
		}
		s.client.AllowRebalance()
	}
	return s.close(nil)
}

// consumeBatch fills, handles and marks one batch.
func consumeBatch[T proto.Message](ctx context.Context, s *session, topic Topic[T], handler func(context.Context, []T, []Metadata) error, maxRecords int, maxWait time.Duration) error {
	var (
		messages []T
		metadata []Metadata
		good     []*kgo.Record // decoded records, parallel to messages
		polled   []*kgo.Record // every record of the batch, to mark at the end
		deadline time.Time     // zero until the first record arrives
	)
	for len(messages) < maxRecords && s.pollSize(maxRecords-len(messages), len(polled)) > 0 {
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if !deadline.IsZero() {
			if !time.Now().Before(deadline) {
				break
			}
			pollCtx, cancel = context.WithDeadline(ctx, deadline)
		}
		records, err := s.poll(ctx, pollCtx, s.pollSize(maxRecords-len(messages), len(polled)))
		cancel()
		if err != nil {
			return err
		}
		if len(records) > 0 && deadline.IsZero() {
			deadline = time.Now().Add(maxWait)
		}
		for _, record := range records {
			polled = append(polled, record)
			msg, err := topic.Decode(record.Value, record.Headers)
			if err != nil {
				if err := s.deadLetter(ctx, record, decodeFailureReason(err), err); err != nil {
					return err
				}
				continue
			}
			messages = append(messages, msg)
			metadata = append(metadata, s.metadata(record))
			good = append(good, record)
		}
	}
	if len(messages) > 0 {
		handlerErr, stopErr := s.withRetries(ctx, func() error { return handler(ctx, messages, metadata) })
		if stopErr != nil {
			return stopErr
		}
		for _, record := range good {
			if handlerErr == nil {
				break
			}
			if err := s.deadLetter(ctx, record, DLQReasonHandlerError, handlerErr); err != nil {
				return err
			}
		}
	}
	s.mark(polled...)
	return nil
}

func decodeFailureReason(err error) string {
	if errors.Is(err, ErrWrongType) {
		return DLQReasonWrongType
	}
	return DLQReasonDecodeError
}

// session is one Consume or ConsumeBatch call: a group client subscribed to
// one topic, which also writes that topic's dead letters.
type session struct {
	consumer  *Consumer
	client    *kgo.Client
	topic     string
	dlq       string
	logger    *slog.Logger
	committed int // records marked for commit
}

func (c *Consumer) open(ctx context.Context, topic, dlq string) (*session, error) {
	checkCtx, cancel := context.WithTimeout(ctx, c.cfg.client.connectTimeout)
	defer cancel()
	if err := c.cfg.client.checkTopics(checkCtx, c.client, topic, dlq); err != nil {
		return nil, err
	}
	opts, err := c.cfg.client.connectionOptions()
	if err != nil {
		return nil, err
	}
	opts = append(opts, producerDefaults()...)
	opts = append(opts,
		kgo.ProducerLinger(0), // dead letters are written one at a time, synchronously
		kgo.ConsumerGroup(c.group),
		kgo.ConsumeTopics(topic),
		// At least once: offsets are only committed once marked, which
		// happens after the handler succeeded or the record was
		// dead-lettered; rebalances wait until a polled batch is marked.
		kgo.AutoCommitMarks(),
		kgo.BlockRebalanceOnPoll(),
	)
	opts = append(opts, c.cfg.client.kgoOptions...)
	client, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("contracts: invalid client options: %w", err)
	}
	return &session{consumer: c, client: client, topic: topic, dlq: dlq, logger: c.cfg.client.logger}, nil
}

// stopped reports whether WithStopAfter records are committed.
func (s *session) stopped() bool {
	limit := s.consumer.cfg.stopAfter
	return limit > 0 && s.committed >= limit
}

// pollSize bounds a poll so that no more than WithStopAfter records are
// taken, counting those already pending in the current batch.
func (s *session) pollSize(want, pending int) int {
	limit := s.consumer.cfg.stopAfter
	if limit > 0 {
		want = min(want, limit-s.committed-pending)
	}
	return want
}

// poll returns the next records. pollCtx may expire before ctx to end a
// batch's wait; only ctx ends the consumer.
func (s *session) poll(ctx, pollCtx context.Context, maxRecords int) ([]*kgo.Record, error) {
	fetches := s.client.PollRecords(pollCtx, maxRecords)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, fetchErr := range fetches.Errors() {
		err := fetchErr.Err
		var dataLoss *kgo.ErrDataLoss
		switch {
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
			// the batch's wait is over
		case errors.As(err, &dataLoss), kerr.IsRetriable(err):
			s.logger.Warn("contracts: fetch error, continuing", "topic", fetchErr.Topic, "partition", fetchErr.Partition, "error", err)
		default:
			return nil, fmt.Errorf("contracts: consuming topic %q in group %q: %w", s.topic, s.consumer.group, err)
		}
	}
	return fetches.Records(), nil
}

func (s *session) mark(records ...*kgo.Record) {
	s.client.MarkCommitRecords(records...)
	s.committed += len(records)
}

// withRetries calls the handler until it succeeds or the retries are spent
// (handlerErr is then its last error). stopErr is ctx's error when the
// consumer is stopping: the record is then neither committed nor dead-lettered.
func (s *session) withRetries(ctx context.Context, call func() error) (handlerErr, stopErr error) {
	cfg := s.consumer.cfg
	backoff := cfg.backoffInitial
	for attempt := 0; ; attempt++ {
		handlerErr = call()
		if handlerErr == nil {
			return nil, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if attempt >= cfg.retries {
			return handlerErr, nil
		}
		s.logger.Warn("contracts: handler failed, retrying", "topic", s.topic, "attempt", attempt+1, "backoff", backoff, "error", handlerErr)
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
		backoff = min(2*backoff, cfg.backoffMax)
	}
}

// deadLetter writes the record to the dead-letter topic with its original
// key, value and headers plus the dlq headers, and waits for the broker's
// acknowledgement: only then may the original offset be committed. Dlq
// headers the record already carried (a replayed dead letter) are replaced.
func (s *session) deadLetter(ctx context.Context, record *kgo.Record, reason string, cause error) error {
	headers := make([]kgo.RecordHeader, 0, len(record.Headers)+6)
	for _, h := range record.Headers {
		if !strings.HasPrefix(h.Key, "contracts_dlq_") {
			headers = append(headers, h)
		}
	}
	headers = append(headers,
		kgo.RecordHeader{Key: DLQHeaderReason, Value: []byte(reason)},
		kgo.RecordHeader{Key: DLQHeaderError, Value: []byte(oneLine(cause.Error()))},
		kgo.RecordHeader{Key: DLQHeaderTopic, Value: []byte(record.Topic)},
		kgo.RecordHeader{Key: DLQHeaderPartition, Value: []byte(strconv.FormatInt(int64(record.Partition), 10))},
		kgo.RecordHeader{Key: DLQHeaderOffset, Value: []byte(strconv.FormatInt(record.Offset, 10))},
		kgo.RecordHeader{Key: DLQHeaderGroup, Value: []byte(s.consumer.group)},
	)
	letter := &kgo.Record{Topic: s.dlq, Key: record.Key, Value: record.Value, Headers: headers}
	if err := s.client.ProduceSync(ctx, letter).FirstErr(); err != nil {
		return fmt.Errorf("contracts: cannot dead-letter %s/%d@%d to %q (%s: %v), stopping without committing it: %w",
			record.Topic, record.Partition, record.Offset, s.dlq, reason, cause, err)
	}
	s.logger.Warn("contracts: record dead-lettered", "topic", record.Topic, "partition", record.Partition,
		"offset", record.Offset, "dlq", s.dlq, "reason", reason, "error", cause)
	return nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func (s *session) metadata(record *kgo.Record) Metadata {
	m := Metadata{
		Topic:     record.Topic,
		Partition: record.Partition,
		Offset:    record.Offset,
		Key:       record.Key,
		Timestamp: record.Timestamp,
		Headers:   record.Headers,
		Group:     s.consumer.group,
	}
	m.ID, _ = headerValue(record.Headers, HeaderID)
	m.Source, _ = headerValue(record.Headers, HeaderSource)
	m.Type, _ = headerValue(record.Headers, HeaderType)
	if value, ok := headerValue(record.Headers, HeaderTime); ok {
		m.Time, _ = time.Parse(time.RFC3339Nano, value)
	}
	return m
}

// close commits what was marked, leaves the group and returns the error that
// ended the session, joined with a failed final commit.
func (s *session) close(cause error) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.consumer.cfg.client.connectTimeout)
	defer cancel()
	commitErr := s.client.CommitMarkedOffsets(ctx)
	s.client.CloseAllowingRebalance()
	if commitErr != nil {
		commitErr = fmt.Errorf("contracts: committing offsets of topic %q in group %q: %w", s.topic, s.consumer.group, commitErr)
	}
	return errors.Join(cause, commitErr)
}
