package contracts

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"
)

// Header names and fixed values of the record envelope (docs/envelope.md):
// the CloudEvents 1.0 Kafka protocol binding in binary content mode.
const (
	HeaderSpecVersion = "ce_specversion"
	HeaderID          = "ce_id"
	HeaderSource      = "ce_source"
	HeaderType        = "ce_type"
	HeaderTime        = "ce_time"
	HeaderContentType = "content-type"

	SpecVersion   = "1.0"
	ContentType   = "application/protobuf"
	DefaultSource = "contracts"

	// TimeLayout is ce_time's format: RFC 3339, UTC, milliseconds.
	TimeLayout = "2006-01-02T15:04:05.000Z"
)

var reservedHeaders = map[string]bool{
	HeaderSpecVersion: true, HeaderID: true, HeaderSource: true,
	HeaderType: true, HeaderTime: true, HeaderContentType: true,
}

var marshalOptions = proto.MarshalOptions{Deterministic: true}

// EncodeOption changes one envelope attribute of a record being encoded.
type EncodeOption func(*encodeOptions)

type encodeOptions struct {
	id      string
	source  string
	time    time.Time
	headers []kgo.RecordHeader
}

// WithEventID sets ce_id instead of the generated "<32 hex>-<n>" id.
func WithEventID(id string) EncodeOption { return func(o *encodeOptions) { o.id = id } }

// WithEventSource sets ce_source (a URI-reference) instead of the producer's
// source, which defaults to "contracts".
func WithEventSource(source string) EncodeOption {
	return func(o *encodeOptions) { o.source = source }
}

// WithEventTime sets ce_time instead of the current time.
func WithEventTime(t time.Time) EncodeOption { return func(o *encodeOptions) { o.time = t } }

// WithHeader adds a header after the envelope's headers, e.g. ce_subject or
// traceparent. The envelope's own headers cannot be overridden this way.
func WithHeader(key string, value []byte) EncodeOption {
	return func(o *encodeOptions) {
		o.headers = append(o.headers, kgo.RecordHeader{Key: key, Value: value})
	}
}

// Encode builds the Kafka record for msg: the protobuf bytes as value, the
// topic's key and the CloudEvents headers. The record is not sent.
func (t Topic[T]) Encode(msg T, opts ...EncodeOption) (*kgo.Record, error) {
	o := encodeOptions{source: DefaultSource}
	for _, opt := range opts {
		opt(&o)
	}
	return t.encode(msg, &o)
}

// encode is Encode with the options applied; producers call it directly,
// without an option closure per record.
func (t Topic[T]) encode(msg T, o *encodeOptions) (*kgo.Record, error) {
	typeName := t.MessageName()
	reflected := msg.ProtoReflect()
	if !reflected.IsValid() {
		return nil, fmt.Errorf("contracts: cannot encode a nil %s for topic %q", typeName, t.Name)
	}
	if got := string(reflected.Descriptor().FullName()); got != typeName {
		// Only reachable when TypeName disagrees with T: a generator bug.
		return nil, fmt.Errorf("contracts: topic %q is bound to %q but the message is a %q", t.Name, typeName, got)
	}
	for _, h := range o.headers {
		if reservedHeaders[h.Key] {
			return nil, fmt.Errorf("contracts: header %q is part of the envelope and cannot be set with WithHeader", h.Key)
		}
	}
	value, err := marshalOptions.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("contracts: cannot encode %s for topic %q: %w", typeName, t.Name, err)
	}
	record := &kgo.Record{Topic: t.Name, Value: value}
	if o.time.IsZero() {
		// The record's Kafka timestamp is the same instant: one clock read
		// instead of two per record (franz-go reads the clock for a zero
		// timestamp), and ce_time and the timestamp agree to the millisecond.
		o.time = time.Now()
		record.Timestamp = o.time
	}
	record.Headers = appendEnvelope(make([]kgo.RecordHeader, 0, 6+len(o.headers)), typeName, o)
	record.Headers = append(record.Headers, o.headers...)
	if t.Key != nil {
		record.Key = t.Key(msg)
	}
	return record, nil
}

// appendEnvelope appends the six envelope headers. Their values share one
// allocation, each capped at its own end so that appending to one cannot
// overwrite the next: per record this is the largest cost after the
// protobuf encoding itself, and a header each would be six allocations.
func appendEnvelope(headers []kgo.RecordHeader, typeName string, o *encodeOptions) []kgo.RecordHeader {
	idLength := len(o.id)
	if idLength == 0 {
		idLength = len(eventIDPrefix) + 1 + 20 // "-" and a uint64
	}
	values := make([]byte, 0, len(SpecVersion)+idLength+len(o.source)+len(typeName)+len(TimeLayout)+len(ContentType))
	field := func(key string, appendValue func([]byte) []byte) {
		start := len(values)
		values = appendValue(values)
		headers = append(headers, kgo.RecordHeader{Key: key, Value: values[start:len(values):len(values)]})
	}
	field(HeaderSpecVersion, func(b []byte) []byte { return append(b, SpecVersion...) })
	field(HeaderID, func(b []byte) []byte {
		if o.id != "" {
			return append(b, o.id...)
		}
		return appendEventID(b)
	})
	field(HeaderSource, func(b []byte) []byte { return append(b, o.source...) })
	field(HeaderType, func(b []byte) []byte { return append(b, typeName...) })
	field(HeaderTime, func(b []byte) []byte { return o.time.UTC().AppendFormat(b, TimeLayout) })
	field(HeaderContentType, func(b []byte) []byte { return append(b, ContentType...) })
	return headers
}

// errNoValue is the cause of the DecodeError of a record without a value.
var errNoValue = errors.New("the record has no value (a tombstone)")

// Decode checks a record's ce_type against the topic's message type and
// parses its value. It returns a *WrongTypeError when ce_type is missing or
// names another type, and a *DecodeError when the value does not parse or
// is nil (a tombstone: an empty message would read as real data, not as
// "deleted"). An empty, non-nil value is the message with every field unset.
func (t Topic[T]) Decode(value []byte, headers []kgo.RecordHeader) (T, error) {
	var zero T
	typeName := t.MessageName()
	got, ok := headerValue(headers, HeaderType)
	if !ok || got != typeName {
		return zero, &WrongTypeError{Topic: t.Name, Want: typeName, Got: got}
	}
	if value == nil {
		return zero, &DecodeError{Topic: t.Name, TypeName: typeName, Err: errNoValue}
	}
	msg := t.New()
	if err := proto.Unmarshal(value, msg); err != nil {
		return zero, &DecodeError{Topic: t.Name, TypeName: typeName, Err: err}
	}
	return msg, nil
}

// headerValue returns the first header named key.
func headerValue(headers []kgo.RecordHeader, key string) (string, bool) {
	for _, h := range headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

// Event ids are a random 128-bit prefix per process plus a counter: unique
// without a random read per record.
var (
	eventIDPrefix  = newEventIDPrefix()
	eventIDCounter atomic.Uint64
)

func newEventIDPrefix() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("contracts: no randomness for event ids: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

func appendEventID(b []byte) []byte {
	b = append(append(b, eventIDPrefix...), '-')
	return strconv.AppendUint(b, eventIDCounter.Add(1), 10)
}
