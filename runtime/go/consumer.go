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

// Dead-letter headers and reasons (docs/runtime.md).
const (
	DLQHeaderReason           = "contracts_dlq_reason"
	DLQHeaderError            = "contracts_dlq_error"
	DLQHeaderTopic            = "contracts_dlq_topic"
	DLQHeaderPartition        = "contracts_dlq_partition"
	DLQHeaderOffset           = "contracts_dlq_offset"
	DLQHeaderGroup            = "contracts_dlq_group"
	DLQHeaderAttempts         = "contracts_dlq_attempts"
	DLQHeaderFirstFailureTime = "contracts_dlq_first_failure_time"
	DLQHeaderLastFailureTime  = "contracts_dlq_last_failure_time"

	DLQReasonDecode     = "decode"
	DLQReasonWrongType  = "wrong-type"
	DLQReasonHandler    = "handler"
	DLQReasonValidation = "validation"

	dlqHeaderPrefix = "contracts_dlq_"
	maxErrorLength  = 1000
	pollRecords     = 500
)

// RetryPolicy says how often a failing handler is called. Attempts counts
// every call, the first included (1: no retry); the wait before retry n
// (n = 1, 2, ...) is min(MaxDelay, BaseDelay * 2^(n-1)). A zero field takes
// its value from DefaultRetryPolicy.
type RetryPolicy struct {
	Attempts  int
	BaseDelay time.Duration
	MaxDelay  time.Duration
}

// DefaultRetryPolicy is the policy of docs/runtime.md: 3 calls, waiting
// 200 ms, then 400 ms, never more than 5 s.
var DefaultRetryPolicy = RetryPolicy{Attempts: 3, BaseDelay: 200 * time.Millisecond, MaxDelay: 5 * time.Second}

// Delay returns the wait before retry n (n = 1 for the second call).
func (p RetryPolicy) Delay(n int) time.Duration {
	delay := p.BaseDelay
	for i := 1; i < n && delay < p.MaxDelay; i++ {
		delay *= 2
	}
	return min(delay, p.MaxDelay)
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts == 0 {
		p.Attempts = DefaultRetryPolicy.Attempts
	}
	if p.BaseDelay == 0 {
		p.BaseDelay = DefaultRetryPolicy.BaseDelay
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = max(DefaultRetryPolicy.MaxDelay, p.BaseDelay)
	}
	return p
}

type consumerConfig struct {
	client     clientConfig
	retry      RetryPolicy
	stopAfter  int
	stuckAfter time.Duration
}

type consumerOption func(*consumerConfig)

func (o consumerOption) applyConsumer(c *consumerConfig) { o(c) }

// WithRetryPolicy sets how often a failing handler is called before its
// record is dead-lettered; the default is DefaultRetryPolicy.
func WithRetryPolicy(policy RetryPolicy) ConsumerOption {
	return consumerOption(func(c *consumerConfig) { c.retry = policy })
}

// WithStopAfter makes Consume and ConsumeBatch return nil once n records
// (handled or dead-lettered) are stored; 0, the default, never stops.
func WithStopAfter(n int) ConsumerOption {
	return consumerOption(func(c *consumerConfig) { c.stopAfter = n })
}

// WithStuckAfter sets how long a partition may make no progress while
// records wait (or a handler call may run) before /readyz reports it stuck;
// the default is DefaultStuckAfter (30 s).
func WithStuckAfter(d time.Duration) ConsumerOption {
	return consumerOption(func(c *consumerConfig) { c.stuckAfter = d })
}

// Consumer consumes typed records in a consumer group with [Consume] and
// [ConsumeBatch], at least once: a record's offset is stored only after its
// handler succeeded or the record was written to the dead-letter topic.
type Consumer struct {
	group   string
	cfg     consumerConfig
	client  *kgo.Client // checks brokers and topics; each Consume call has its own group client
	state   *clientState
	metrics *metrics
	tracer  tracer
}

// NewConsumer connects to Kafka with the options and the KAFKA_* environment
// for the consumer group. It fails within the connect timeout when the
// brokers cannot be reached or a required topic is missing.
func NewConsumer(group string, opts ...ConsumerOption) (*Consumer, error) {
	if group == "" {
		return nil, configError("the consumer group id is empty")
	}
	cfg := consumerConfig{}
	for _, opt := range opts {
		opt.applyConsumer(&cfg)
	}
	cfg.retry = cfg.retry.withDefaults()
	if cfg.retry.Attempts < 1 || cfg.stopAfter < 0 || cfg.retry.BaseDelay < 0 || cfg.retry.MaxDelay < cfg.retry.BaseDelay {
		return nil, configError("retry policy %+v, stop after %d: use attempts >= 1, delays >= 0 with BaseDelay <= MaxDelay, stop after >= 0",
			cfg.retry, cfg.stopAfter)
	}
	if err := cfg.client.resolve(os.Getenv); err != nil {
		return nil, err
	}
	m := metricsFor(cfg.client.registerer)
	c := &Consumer{
		group:   group,
		cfg:     cfg,
		state:   newClientState("consumer "+group, cfg.stuckAfter, m.gatherer),
		metrics: m,
		tracer:  newTracer(cfg.client.tracerProvider, group),
	}
	client, err := cfg.client.newClient([]kgo.Opt{kgo.WithHooks(c.state)})
	if err != nil {
		return nil, err
	}
	c.client = client
	go c.state.probe(client)
	return c, nil
}

// Group returns the consumer group id.
func (c *Consumer) Group() string { return c.group }

// Close releases the consumer's connections. Consume calls in progress keep
// their own client until they return.
func (c *Consumer) Close() {
	c.state.close()
	c.client.Close()
}

func (c *Consumer) healthState() *clientState { return c.state }

// Metadata describes the record a handler receives.
type Metadata struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Headers   []kgo.RecordHeader
	Timestamp time.Time // the Kafka record timestamp
	// The CloudEvents attributes ce_id, ce_source and ce_time; Time is zero
	// when ce_time is missing or invalid.
	ID     string
	Source string
	Time   time.Time
	Type   string // ce_type: the topic's message type
	Group  string // the consumer group
}

// Consume calls handler with every record of the topic, one at a time, in
// partition order, and stores each record's offset after handler returned
// nil; stored offsets are committed in the background about every second.
// A failing handler is called again as the retry policy says, then the
// record goes to the dead-letter topic with reason "handler"; a record of
// another type or with undecodable bytes goes there at once ("wrong-type",
// "decode") without reaching the handler, and so does a record that breaks
// the field rules ("validation", unless the topic's mode is ValidationOff).
// Either way consumption goes on.
// The topic and its dead-letter topic must exist.
//
// When ctx is done, the handler call in flight finishes (handlers get a
// context that stop does not cancel), nothing new is fetched, what was
// handled is committed and Consume returns ctx.Err(); a record whose call
// failed is then neither retried nor dead-lettered, and is read again
// later. Consume returns nil after WithStopAfter records, or the error that
// stopped it, e.g. a *DeadLetterError.
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
		return s.deadLetter(ctx, record, decodeFailureReason(err), err, 0)
	}
	if err := validateOnConsume(topic, msg); err != nil {
		return s.deadLetterInvalid(ctx, record, err)
	}
	metadata := s.metadata(record)
	handlerCtx, span := s.consumer.tracer.startProcess(context.WithoutCancel(ctx), record)
	start := time.Now()
	handlerErr, calls, stopErr := s.withRetries(ctx, func() error { return handler(handlerCtx, msg, metadata) })
	s.series.handleDuration.Observe(time.Since(start).Seconds())
	if stopErr != nil {
		endProcess(span, stopErr)
		return stopErr
	}
	endProcess(span, handlerErr)
	if handlerErr != nil {
		return s.deadLetter(ctx, record, DLQReasonHandler, handlerErr, calls)
	}
	s.handled(metadata)
	return nil
}

// ConsumeBatch is Consume for handlers that pay a cost per call: it collects
// up to maxRecords decoded messages, waiting at most maxWait after the first
// record arrived, and calls handler once for them, as often as the retry
// policy says. If the last call fails, each record is handed to handler
// alone (a batch of one) with attempts of its own, and only the records
// that still fail are dead-lettered: one bad record never dead-letters its
// neighbours. Records of another type or with undecodable bytes are
// dead-lettered as they arrive and left out of the batch. Offsets are
// stored after the batch is handled; stopping works as for Consume.
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
				if err := s.deadLetter(ctx, record, decodeFailureReason(err), err, 0); err != nil {
					return err
				}
				continue
			}
			if err := validateOnConsume(topic, msg); err != nil {
				if err := s.deadLetterInvalid(ctx, record, err); err != nil {
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
		if err := handleBatch(ctx, s, handler, messages, metadata, good); err != nil {
			return err
		}
	}
	s.mark(polled...)
	return nil
}

// handleBatch calls handler with the batch, then with each record alone if
// the batch kept failing; it dead-letters the records that still fail.
func handleBatch[T proto.Message](ctx context.Context, s *session, handler func(context.Context, []T, []Metadata) error, messages []T, metadata []Metadata, records []*kgo.Record) error {
	call := func(from, to int) (error, int, error) {
		handlerCtx, span := s.consumer.tracer.startProcessBatch(context.WithoutCancel(ctx), s.topic, records[from:to])
		start := time.Now()
		handlerErr, calls, stopErr := s.withRetries(ctx, func() error { return handler(handlerCtx, messages[from:to], metadata[from:to]) })
		s.series.handleDuration.Observe(time.Since(start).Seconds())
		endProcess(span, errors.Join(handlerErr, stopErr))
		return handlerErr, calls, stopErr
	}
	batchErr, batchCalls, stopErr := call(0, len(messages))
	if stopErr != nil {
		return stopErr
	}
	for i := range messages {
		handlerErr, calls := batchErr, batchCalls
		if batchErr != nil && len(messages) > 1 {
			var ownCalls int
			handlerErr, ownCalls, stopErr = call(i, i+1)
			if stopErr != nil {
				return stopErr
			}
			calls += ownCalls
		}
		if handlerErr != nil {
			if err := s.deadLetter(ctx, records[i], DLQReasonHandler, handlerErr, calls); err != nil {
				return err
			}
			continue
		}
		s.handled(metadata[i])
	}
	return nil
}

func decodeFailureReason(err error) string {
	if errors.Is(err, ErrWrongType) {
		return DLQReasonWrongType
	}
	return DLQReasonDecode
}

// deadLetterInvalid dead-letters a record that breaks the field rules
// (reason "validation", no handler call). Rules that do not compile (a
// *ConfigError) stop the consumer instead: no record could pass them, and
// dead-lettering the whole topic would hide a broken contract.
func (s *session) deadLetterInvalid(ctx context.Context, record *kgo.Record, err error) error {
	if !errors.Is(err, ErrValidation) {
		return err
	}
	return s.deadLetter(ctx, record, DLQReasonValidation, err, 0)
}

// session is one Consume or ConsumeBatch call: a group client subscribed to
// one topic, which also writes that topic's dead letters.
type session struct {
	consumer  *Consumer
	client    *kgo.Client
	topic     string
	dlq       string
	logger    *slog.Logger
	series    *topicMetrics
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
	s := &session{consumer: c, topic: topic, dlq: dlq, logger: c.cfg.client.logger, series: c.metrics.consumerSeries(topic)}
	opts = append(opts, producerDefaults()...)
	opts = append(opts,
		kgo.ProducerLinger(0), // dead letters are written one at a time, synchronously
		kgo.ConsumerGroup(c.group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// At least once: offsets are only committed once marked, which
		// happens after the handler succeeded or the record was
		// dead-lettered; rebalances wait until a polled batch is marked.
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(time.Second),
		kgo.BlockRebalanceOnPoll(),
		kgo.WithHooks(c.state),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
			for t, partitions := range assigned {
				c.state.assigned(t, partitions)
			}
		}),
		// Setting this replaces franz-go's commit on revocation: commit
		// what was handled before the partitions go to another member.
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
			if err := cl.CommitMarkedOffsets(ctx); err != nil {
				s.logger.Warn("contracts: committing offsets on revocation", "topic", topic, "group", c.group, "error", err)
			}
			s.release(revoked)
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, lost map[string][]int32) { s.release(lost) }),
	)
	opts = append(opts, c.cfg.client.kgoOptions...)
	client, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, &ConfigError{Message: fmt.Sprintf("contracts: invalid client options: %v", err), Err: err}
	}
	s.client = client
	return s, nil
}

// release forgets partitions that are no longer assigned.
func (s *session) release(partitions map[string][]int32) {
	for t, ps := range partitions {
		s.consumer.state.revoked(t, ps)
		if t == s.topic {
			for _, p := range ps {
				s.series.dropLag(p)
			}
		}
	}
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

// poll returns the next records and records each partition's high
// watermark. pollCtx may expire before ctx to end a batch's wait; only ctx
// ends the consumer.
func (s *session) poll(ctx, pollCtx context.Context, maxRecords int) ([]*kgo.Record, error) {
	fetches := s.client.PollRecords(pollCtx, maxRecords)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		first := int64(-1)
		if len(p.Records) > 0 {
			first = p.Records[0].Offset
		}
		if p.Err == nil && p.HighWatermark >= 0 {
			if lag := s.consumer.state.fetched(p.Topic, p.Partition, p.HighWatermark, first); lag >= 0 {
				s.series.setLag(p.Partition, lag)
			}
		}
	})
	for _, fetchErr := range fetches.Errors() {
		err := fetchErr.Err
		var dataLoss *kgo.ErrDataLoss
		switch {
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
			// the batch's wait is over
		case errors.As(err, &dataLoss), kerr.IsRetriable(err):
			s.logger.Warn("contracts: fetch error, continuing", "topic", fetchErr.Topic, "partition", fetchErr.Partition, "error", err)
		default:
			return nil, kafkaError(fmt.Sprintf("contracts: consuming topic %q in group %q", s.topic, s.consumer.group), err)
		}
	}
	return fetches.Records(), nil
}

// kafkaError gives a fatal client error its kind: refused credentials are
// a ConnectionError, anything else (authorization, a deleted topic) a
// ConfigError.
func kafkaError(what string, err error) error {
	message := what + ": " + err.Error()
	if errors.Is(err, kerr.SaslAuthenticationFailed) {
		return &ConnectionError{Message: message, Err: err}
	}
	return &ConfigError{Message: message, Err: err}
}

func (s *session) mark(records ...*kgo.Record) {
	s.client.MarkCommitRecords(records...)
	s.committed += len(records)
	for _, record := range records {
		if lag := s.consumer.state.storedOffset(record.Topic, record.Partition, record.Offset); lag >= 0 {
			s.series.setLag(record.Partition, lag)
		}
	}
}

// handled counts a record whose handler succeeded.
func (s *session) handled(md Metadata) {
	s.series.consumed.Inc()
	since := md.Time
	if since.IsZero() {
		since = md.Timestamp
	}
	if !since.IsZero() {
		s.series.endToEndLag.Observe(max(time.Since(since).Seconds(), 0))
	}
}

// withRetries calls the handler until it succeeds or the policy's attempts
// are spent (handlerErr is then its last error); calls counts the calls.
// stopErr is ctx's error when the consumer stopped before the record was
// done: it is then neither stored nor dead-lettered.
func (s *session) withRetries(ctx context.Context, call func() error) (handlerErr error, calls int, stopErr error) {
	policy := s.consumer.cfg.retry
	for attempt := 1; ; attempt++ {
		s.consumer.state.handlerStarted()
		handlerErr = call()
		s.consumer.state.handlerDone()
		if handlerErr == nil || attempt >= policy.Attempts {
			return handlerErr, attempt, nil
		}
		if ctx.Err() != nil {
			return nil, attempt, ctx.Err()
		}
		delay := policy.Delay(attempt)
		s.logger.Warn("contracts: handler failed, retrying", "topic", s.topic, "attempt", attempt, "of", policy.Attempts, "delay", delay, "error", handlerErr)
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, attempt, ctx.Err()
		case <-timer.C:
		}
	}
}

// deadLetter writes the record to the dead-letter topic with its original
// key, value and headers plus the dlq headers, and waits for the broker's
// acknowledgement: only then may the original offset be stored. Dlq
// headers the record already carried (a replayed dead letter) are replaced,
// except the first failure time, which is kept.
func (s *session) deadLetter(ctx context.Context, record *kgo.Record, reason string, cause error, attempts int) error {
	now := time.Now().UTC().Format(TimeLayout)
	firstFailure := now
	headers := make([]kgo.RecordHeader, 0, len(record.Headers)+10)
	for _, h := range record.Headers {
		switch {
		case h.Key == DLQHeaderFirstFailureTime:
			firstFailure = string(h.Value)
		case !strings.HasPrefix(h.Key, dlqHeaderPrefix):
			headers = append(headers, h)
		}
	}
	headers = append(headers,
		kgo.RecordHeader{Key: DLQHeaderReason, Value: []byte(reason)},
		kgo.RecordHeader{Key: DLQHeaderError, Value: []byte(errorLine(cause))},
		kgo.RecordHeader{Key: DLQHeaderTopic, Value: []byte(record.Topic)},
		kgo.RecordHeader{Key: DLQHeaderPartition, Value: []byte(strconv.FormatInt(int64(record.Partition), 10))},
		kgo.RecordHeader{Key: DLQHeaderOffset, Value: []byte(strconv.FormatInt(record.Offset, 10))},
		kgo.RecordHeader{Key: DLQHeaderGroup, Value: []byte(s.consumer.group)},
		kgo.RecordHeader{Key: DLQHeaderAttempts, Value: []byte(strconv.Itoa(attempts))},
		kgo.RecordHeader{Key: DLQHeaderFirstFailureTime, Value: []byte(firstFailure)},
		kgo.RecordHeader{Key: DLQHeaderLastFailureTime, Value: []byte(now)},
	)
	if invalid := (*ValidationError)(nil); errors.As(cause, &invalid) {
		headers = append(headers, kgo.RecordHeader{Key: DLQHeaderViolations, Value: violationsHeader(invalid)})
	}
	letter := &kgo.Record{Topic: s.dlq, Key: record.Key, Value: record.Value, Headers: headers}
	// The record in flight finishes even when the consumer is stopping:
	// the write is bounded by the producer's delivery timeout, not by ctx.
	if err := s.client.ProduceSync(context.WithoutCancel(ctx), letter).FirstErr(); err != nil {
		return &DeadLetterError{Topic: record.Topic, Partition: record.Partition, Offset: record.Offset,
			DLQ: s.dlq, Reason: reason, Cause: cause, Err: err}
	}
	s.series.deadLettered(reason)
	s.logger.Warn("contracts: record dead-lettered", "topic", record.Topic, "partition", record.Partition,
		"offset", record.Offset, "dlq", s.dlq, "reason", reason, "attempts", attempts, "error", cause)
	return nil
}

// errorLine is err's message on one line of at most maxErrorLength
// characters, for the contracts_dlq_error header.
func errorLine(err error) string {
	line := []rune(oneLine(err.Error()))
	if len(line) > maxErrorLength {
		line = append(line[:maxErrorLength-1], '…')
	}
	return string(line)
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
		commitErr = &ConnectionError{
			Message: fmt.Sprintf("contracts: committing offsets of topic %q in group %q: %v", s.topic, s.consumer.group, commitErr),
			Err:     commitErr,
		}
	}
	return errors.Join(cause, commitErr)
}
