// Command golden-vectors writes the Go side of the golden vectors and checks
// the vectors that Python and Rust wrote (tests/vectors/README.md).
//
//	golden-vectors write OUT.jsonl
//	golden-vectors check IN.jsonl...
//
// check prints one JSON line per vector, {"writer", "reader", "id", "failures"},
// and exits 1 when any vector failed; the failures go to stderr too.
package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"example.com/registry/gen/topics"
	contracts "github.com/contractsdev/contracts/runtime/go"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// eventTimeMs is the ce_time every writer stamps: 2026-11-25T00:48:20.123Z.
const eventTimeMs = 1_795_567_700_123

type vector struct {
	ID       string      `json:"id"`
	Writer   string      `json:"writer"`
	Type     string      `json:"type"`
	Topic    string      `json:"topic"`
	Value    string      `json:"value"`
	Fields   [][2]string `json:"fields"`
	JSON     *string     `json:"json"`
	Record   record      `json:"record"`
	Envelope envelope    `json:"envelope"`
}

type record struct {
	Key     *string     `json:"key"`
	Value   string      `json:"value"`
	Headers [][2]string `json:"headers"`
}

type envelope struct {
	ID     string `json:"id"`
	Source string `json:"source"`
	TimeMs int64  `json:"time_ms"`
}

type report struct {
	Writer   string   `json:"writer"`
	Reader   string   `json:"reader"`
	ID       string   `json:"id"`
	Failures []string `json:"failures"`
}

// binding is one generated topic with its message type erased, so that the
// catalog and the vector files can name topics by message type.
type binding struct {
	topic  string
	write  func(id string, msg proto.Message) (vector, error)
	check  func(v vector) []string
	decode func(value []byte, headers []kgo.RecordHeader) error
}

var bindings = map[string]binding{}

func init() {
	bind(topics.AuditEventsV1, topics.EmailDispatchV1)
	bind(topics.EmailDispatchV1, topics.MarketingAudienceV1)
	bind(topics.MarketingAudienceV1, topics.PreferencesChangedV1)
	bind(topics.PreferencesChangedV1, topics.AuditEventsV1)
}

// bind registers topic; other is any other topic, which must refuse topic's records.
func bind[T, O proto.Message](topic contracts.Topic[T], other contracts.Topic[O]) {
	bindings[topic.MessageName()] = binding{
		topic: topic.Name,
		write: func(id string, msg proto.Message) (vector, error) { return writeVector(topic, id, msg.(T)) },
		check: func(v vector) []string {
			return checkVector(topic, v, func(value []byte, headers []kgo.RecordHeader) error {
				_, err := other.Decode(value, headers)
				return err
			}, other.Name)
		},
		decode: func(value []byte, headers []kgo.RecordHeader) error {
			_, err := topic.Decode(value, headers)
			return err
		},
	}
}

func main() {
	if len(os.Args) < 3 || (os.Args[1] != "write" && os.Args[1] != "check") {
		fmt.Fprintln(os.Stderr, "usage: golden-vectors write OUT.jsonl | check IN.jsonl...")
		os.Exit(2)
	}
	var err error
	failed := false
	if os.Args[1] == "write" {
		err = writeAll(os.Args[2])
	} else {
		failed, err = checkAll(os.Args[2:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "golden-vectors:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

func writeAll(path string) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(file)
	encoder := json.NewEncoder(out)
	encoder.SetEscapeHTML(false)
	for _, e := range catalog() {
		v, err := bindings[e.typeName].write(e.id, e.build())
		if err != nil {
			return fmt.Errorf("%s: %w", e.id, err)
		}
		if err := encoder.Encode(v); err != nil {
			return err
		}
	}
	if err := out.Flush(); err != nil {
		return err
	}
	return file.Close()
}

func writeVector[T proto.Message](topic contracts.Topic[T], id string, msg T) (vector, error) {
	value, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
	if err != nil {
		return vector{}, err
	}
	canonical, err := protojson.Marshal(msg)
	if err != nil {
		return vector{}, err
	}
	env := envelope{ID: "golden-" + id, Source: contracts.DefaultSource, TimeMs: eventTimeMs}
	rec, err := encodeRecord(topic, msg, env)
	if err != nil {
		return vector{}, err
	}
	text := string(canonical)
	return vector{
		ID: id, Writer: "go", Type: topic.MessageName(), Topic: topic.Name,
		Value: hex.EncodeToString(value), Fields: fieldDump(msg), JSON: &text,
		Record: rec, Envelope: env,
	}, nil
}

func encodeRecord[T proto.Message](topic contracts.Topic[T], msg T, env envelope) (record, error) {
	rec, err := topic.Encode(msg,
		contracts.WithEventID(env.ID),
		contracts.WithEventSource(env.Source),
		contracts.WithEventTime(time.UnixMilli(env.TimeMs)))
	if err != nil {
		return record{}, err
	}
	headers := make([][2]string, 0, len(rec.Headers))
	for _, h := range rec.Headers {
		headers = append(headers, [2]string{h.Key, string(h.Value)})
	}
	result := record{Value: hex.EncodeToString(rec.Value), Headers: headers}
	if rec.Key != nil {
		key := hex.EncodeToString(rec.Key)
		result.Key = &key
	}
	return result, nil
}

func checkAll(paths []string) (bool, error) {
	failed := false
	encoder := json.NewEncoder(os.Stdout)
	encoder.SetEscapeHTML(false)
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return false, err
		}
		scanner := bufio.NewScanner(bytes.NewReader(data))
		scanner.Buffer(make([]byte, 0, 1<<20), 1<<26)
		for scanner.Scan() {
			if len(scanner.Bytes()) == 0 {
				continue
			}
			var v vector
			if err := json.Unmarshal(scanner.Bytes(), &v); err != nil {
				return false, fmt.Errorf("%s: %w", path, err)
			}
			failures := []string{}
			if b, ok := bindings[v.Type]; !ok {
				failures = append(failures, fmt.Sprintf("type %s is not bound to any topic", v.Type))
			} else {
				failures = append(failures, b.check(v)...)
			}
			for _, failure := range failures {
				fmt.Fprintf(os.Stderr, "FAIL %s -> go, %s: %s\n", v.Writer, v.ID, failure)
			}
			failed = failed || len(failures) > 0
			if err := encoder.Encode(report{Writer: v.Writer, Reader: "go", ID: v.ID, Failures: failures}); err != nil {
				return false, err
			}
		}
		if err := scanner.Err(); err != nil {
			return false, fmt.Errorf("%s: %w", path, err)
		}
	}
	return failed, nil
}

// checkVector reads v with topic and lists everything that differs from what
// the writer recorded; decodeOther is another topic's Decode.
func checkVector[T proto.Message](topic contracts.Topic[T], v vector, decodeOther func([]byte, []kgo.RecordHeader) error, otherName string) []string {
	if topic.Name != v.Topic {
		return []string{fmt.Sprintf("type %s is bound to %s, the writer says %s", v.Type, topic.Name, v.Topic)}
	}
	var failures []string
	value, err := hex.DecodeString(v.Value)
	if err != nil {
		return []string{"value is not hex: " + err.Error()}
	}
	msg := topic.New()
	if err := proto.Unmarshal(value, msg); err != nil {
		return []string{"value does not decode: " + err.Error()}
	}
	failures = append(failures, fieldsDiff("decoded value", v.Fields, fieldDump(msg))...)
	if v.JSON != nil {
		fromJSON := topic.New()
		if err := protojson.Unmarshal([]byte(*v.JSON), fromJSON); err != nil {
			failures = append(failures, "canonical JSON does not parse: "+err.Error())
		} else {
			// JSON has one NaN: its bit pattern is the parser's choice.
			failures = append(failures, fieldsDiff("canonical JSON", nanAsOne(v.Fields), nanAsOne(fieldDump(fromJSON)))...)
			if !proto.Equal(fromJSON, msg) {
				failures = append(failures, "canonical JSON: proto.Equal says it is not the decoded message")
			}
		}
	}
	reencoded, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
	if err != nil {
		failures = append(failures, "re-encoding fails: "+err.Error())
	}
	failures = append(failures, bytesDiff("re-encoded value", value, reencoded)...)

	headers := make([]kgo.RecordHeader, 0, len(v.Record.Headers))
	for _, h := range v.Record.Headers {
		headers = append(headers, kgo.RecordHeader{Key: h[0], Value: []byte(h[1])})
	}
	recordValue, err := hex.DecodeString(v.Record.Value)
	if err != nil {
		return append(failures, "record value is not hex: "+err.Error())
	}
	if fromRecord, err := topic.Decode(recordValue, headers); err != nil {
		failures = append(failures, "Topic.Decode of the writer's record fails: "+err.Error())
	} else {
		failures = append(failures, fieldsDiff("record value", v.Fields, fieldDump(fromRecord))...)
	}
	var key *string
	if topic.Key != nil {
		text := hex.EncodeToString(topic.Key(msg))
		key = &text
	}
	if show(key) != show(v.Record.Key) {
		failures = append(failures, fmt.Sprintf("key differs: writer %s, go %s", show(v.Record.Key), show(key)))
	}
	ours, err := encodeRecord(topic, msg, v.Envelope)
	if err != nil {
		failures = append(failures, "Topic.Encode fails: "+err.Error())
	} else if !slices.Equal(ours.Headers, v.Record.Headers) {
		failures = append(failures, fmt.Sprintf("headers differ: writer %q, go %q", v.Record.Headers, ours.Headers))
	}
	err = decodeOther(recordValue, headers)
	if !errors.Is(err, contracts.ErrWrongType) {
		failures = append(failures, fmt.Sprintf("%s decoding this record returns %v, not a WrongTypeError", otherName, err))
	}
	return failures
}

func show(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

func fieldsDiff(what string, expected, actual [][2]string) []string {
	writer := map[string]string{}
	for _, f := range expected {
		writer[f[0]] = f[1]
	}
	reader := map[string]string{}
	for _, f := range actual {
		reader[f[0]] = f[1]
	}
	var paths []string
	for path := range writer {
		paths = append(paths, path)
	}
	for path := range reader {
		if _, ok := writer[path]; !ok {
			paths = append(paths, path)
		}
	}
	slices.Sort(paths)
	var failures []string
	for _, path := range paths {
		w, inWriter := writer[path]
		r, inReader := reader[path]
		switch {
		case !inReader:
			failures = append(failures, fmt.Sprintf("%s: field %s missing (writer: %q)", what, path, w))
		case !inWriter:
			failures = append(failures, fmt.Sprintf("%s: unexpected field %s = %q", what, path, r))
		case w != r:
			failures = append(failures, fmt.Sprintf("%s: field %s: writer %q, reader %q", what, path, w, r))
		}
	}
	return failures
}

// bytesDiff says where actual departs from expected, field by field when
// both parse; the same text as bytes_diff in tests/test_golden_vectors.py.
func bytesDiff(what string, expected, actual []byte) []string {
	if bytes.Equal(expected, actual) {
		return nil
	}
	offset := min(len(expected), len(actual))
	for i := range offset {
		if expected[i] != actual[i] {
			offset = i
			break
		}
	}
	return []string{fmt.Sprintf("%s differs at byte %d (writer %d bytes, reader %d bytes): %s",
		what, offset, len(expected), len(actual), explainDifference(expected, actual, offset))}
}
