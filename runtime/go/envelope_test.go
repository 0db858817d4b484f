package contracts

import (
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

var stringTopic = Topic[*wrapperspb.StringValue]{
	Name:     "test.strings.v1",
	TypeName: "google.protobuf.StringValue",
	New:      func() *wrapperspb.StringValue { return new(wrapperspb.StringValue) },
	Key:      func(m *wrapperspb.StringValue) []byte { return KeyString(m.GetValue()) },
}

var structTopic = Topic[*structpb.Struct]{
	Name:     "test.structs.v1",
	TypeName: "google.protobuf.Struct",
	New:      func() *structpb.Struct { return new(structpb.Struct) },
}

func headerMap(t *testing.T, headers []kgo.RecordHeader) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, h := range headers {
		if _, dup := m[h.Key]; dup {
			t.Fatalf("header %q twice", h.Key)
		}
		m[h.Key] = string(h.Value)
	}
	return m
}

func TestEncodeWritesTheEnvelope(t *testing.T) {
	msg := wrapperspb.String("zone-1")
	record, err := stringTopic.Encode(msg)
	if err != nil {
		t.Fatal(err)
	}
	if record.Topic != "test.strings.v1" || string(record.Key) != "zone-1" {
		t.Fatalf("topic %q key %q", record.Topic, record.Key)
	}
	plain, _ := proto.Marshal(msg)
	if string(record.Value) != string(plain) {
		t.Fatalf("value %x, want the plain protobuf bytes %x", record.Value, plain)
	}
	var order []string
	for _, h := range record.Headers {
		order = append(order, h.Key)
	}
	wantOrder := []string{"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"}
	if len(order) != len(wantOrder) {
		t.Fatalf("headers %v, want %v", order, wantOrder)
	}
	for i := range order {
		if order[i] != wantOrder[i] {
			t.Fatalf("headers %v, want %v", order, wantOrder)
		}
	}
	h := headerMap(t, record.Headers)
	if h["ce_specversion"] != "1.0" || h["ce_source"] != "contracts" || h["ce_type"] != "google.protobuf.StringValue" || h["content-type"] != "application/protobuf" {
		t.Fatalf("headers %v", h)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}-[0-9]+$`).MatchString(h["ce_id"]) {
		t.Fatalf("ce_id %q is not <32 hex>-<n>", h["ce_id"])
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`).MatchString(h["ce_time"]) {
		t.Fatalf("ce_time %q is not RFC 3339 UTC with milliseconds", h["ce_time"])
	}
}

func TestEncodeIDsAreUniqueAndShareThePrefix(t *testing.T) {
	first, _ := stringTopic.Encode(wrapperspb.String("a"))
	second, _ := stringTopic.Encode(wrapperspb.String("a"))
	id1, _ := headerValue(first.Headers, HeaderID)
	id2, _ := headerValue(second.Headers, HeaderID)
	if id1 == id2 || id1[:33] != id2[:33] {
		t.Fatalf("ids %q and %q", id1, id2)
	}
}

func TestEncodeOptions(t *testing.T) {
	when := time.Date(2026, 11, 25, 1, 48, 20, 123456789, time.FixedZone("CET", 3600))
	record, err := stringTopic.Encode(wrapperspb.String("a"),
		WithEventID("id-1"), WithEventSource("//svc-audit"), WithEventTime(when),
		WithHeader("ce_subject", []byte("zone-1")), WithHeader("traceparent", []byte("00-abc-def-01")))
	if err != nil {
		t.Fatal(err)
	}
	h := headerMap(t, record.Headers)
	if h["ce_id"] != "id-1" || h["ce_source"] != "//svc-audit" || h["ce_time"] != "2026-11-25T00:48:20.123Z" {
		t.Fatalf("headers %v", h)
	}
	if h["ce_subject"] != "zone-1" || h["traceparent"] != "00-abc-def-01" {
		t.Fatalf("extra headers missing: %v", h)
	}
	if record.Headers[6].Key != "ce_subject" {
		t.Fatalf("extra headers must follow the envelope's: %v", record.Headers)
	}
}

func TestEncodeRejectsOverridingTheEnvelope(t *testing.T) {
	_, err := stringTopic.Encode(wrapperspb.String("a"), WithHeader("ce_type", []byte("evil.Type")))
	if err == nil {
		t.Fatal("ce_type overridden through WithHeader")
	}
}

func TestEncodeWithoutKeyFuncGivesNullKey(t *testing.T) {
	record, err := structTopic.Encode(&structpb.Struct{})
	if err != nil {
		t.Fatal(err)
	}
	if record.Key != nil {
		t.Fatalf("key %q, want null", record.Key)
	}
}

func TestEncodeRejectsNilMessage(t *testing.T) {
	if _, err := stringTopic.Encode(nil); err == nil {
		t.Fatal("nil message encoded")
	}
}

func TestEncodeRejectsTypeNameThatDisagreesWithT(t *testing.T) {
	broken := stringTopic
	broken.TypeName = "audit.v1.AuditEvent"
	if _, err := broken.Encode(wrapperspb.String("a")); err == nil {
		t.Fatal("a StringValue was labelled audit.v1.AuditEvent")
	}
}

func TestEncodeIsDeterministic(t *testing.T) {
	msg, _ := structpb.NewStruct(map[string]any{"b": 1, "a": "x", "c": true, "d": map[string]any{"z": 1, "y": 2}})
	first, _ := structTopic.Encode(msg)
	for range 20 {
		again, _ := structTopic.Encode(msg)
		if string(again.Value) != string(first.Value) {
			t.Fatal("map fields encoded in different orders")
		}
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	msg, _ := structpb.NewStruct(map[string]any{"zone": "z1", "n": 42.0, "list": []any{"a", false}})
	record, _ := structTopic.Encode(msg)
	got, err := structTopic.Decode(record.Value, record.Headers)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, msg) {
		t.Fatalf("decoded %v, want %v", got, msg)
	}
}

func TestDecodeWrongType(t *testing.T) {
	record, _ := stringTopic.Encode(wrapperspb.String("a"))
	_, err := structTopic.Decode(record.Value, record.Headers)
	var wrongType *WrongTypeError
	if !errors.As(err, &wrongType) || !errors.Is(err, ErrWrongType) {
		t.Fatalf("err %v, want a WrongTypeError", err)
	}
	if wrongType.Got != "google.protobuf.StringValue" || wrongType.Want != "google.protobuf.Struct" || wrongType.Topic != "test.structs.v1" {
		t.Fatalf("err %+v", wrongType)
	}
}

func TestDecodeMissingCEType(t *testing.T) {
	_, err := stringTopic.Decode([]byte{}, nil)
	var wrongType *WrongTypeError
	if !errors.As(err, &wrongType) || wrongType.Got != "" {
		t.Fatalf("err %v, want a WrongTypeError for the missing header", err)
	}
}

func TestDecodeGarbage(t *testing.T) {
	headers := []kgo.RecordHeader{{Key: HeaderType, Value: []byte("google.protobuf.StringValue")}}
	// Field 1 as a length-delimited string claiming 100 bytes that are not there.
	_, err := stringTopic.Decode([]byte{0x0a, 0x64, 'x'}, headers)
	var decodeErr *DecodeError
	if !errors.As(err, &decodeErr) || !errors.Is(err, ErrDecode) || decodeErr.Err == nil {
		t.Fatalf("err %v, want a DecodeError", err)
	}
	if errors.Is(err, ErrWrongType) {
		t.Fatal("a DecodeError matched ErrWrongType")
	}
}

// A record without a value is a tombstone, not a message with every field
// unset: it is a DecodeError. The empty message itself encodes to an
// empty, non-nil value, which Kafka keeps apart from a null one.
func TestDecodeTombstone(t *testing.T) {
	empty, err := stringTopic.Encode(&wrapperspb.StringValue{})
	if err != nil {
		t.Fatal(err)
	}
	if empty.Value == nil || len(empty.Value) != 0 {
		t.Fatalf("the empty message encoded to %#v, want an empty non-nil value", empty.Value)
	}
	if got, err := stringTopic.Decode(empty.Value, empty.Headers); err != nil || got.GetValue() != "" {
		t.Fatalf("decoding the empty message: %v, %v", got, err)
	}
	_, err = stringTopic.Decode(nil, empty.Headers)
	var decodeErr *DecodeError
	if !errors.As(err, &decodeErr) || !errors.Is(err, ErrDecode) || !errors.Is(err, errNoValue) {
		t.Fatalf("err %v, want a DecodeError for the missing value", err)
	}
	if decodeErr.TypeName != "google.protobuf.StringValue" || decodeErr.Topic != "test.strings.v1" {
		t.Fatalf("err %+v", decodeErr)
	}
}
