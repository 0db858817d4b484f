package contracts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	// Generated from tests/vectors/validation/proto/validation/v1/validation.proto
	// (see tests/vectors/validation/README.md for the command).
	"github.com/contractsdev/contracts/runtime/go/internal/validationpb"
)

var signups = Topic[*validationpb.Signup]{
	Name: "validation.signups.v1",
	New:  func() *validationpb.Signup { return new(validationpb.Signup) },
	Key:  func(m *validationpb.Signup) []byte { return KeyString(m.GetUserId()) },
}

func validSignup() *validationpb.Signup {
	return &validationpb.Signup{UserId: "u-123", Email: "ada@example.com", Plan: validationpb.Plan_PLAN_PRO, StartsAt: 10, EndsAt: 20}
}

func violationsOf(t *testing.T, err error) []Violation {
	t.Helper()
	var invalid *ValidationError
	if !errors.As(err, &invalid) {
		t.Fatalf("want a *ValidationError, got %T: %v", err, err)
	}
	return invalid.Violations
}

func TestValidMessagePasses(t *testing.T) {
	if err := signups.Validate(validSignup()); err != nil {
		t.Fatal(err)
	}
}

func TestEachRuleKindNamesItsRuleAndField(t *testing.T) {
	for name, tc := range map[string]struct {
		change func(*validationpb.Signup)
		want   []Violation
	}{
		"min_len":      {func(m *validationpb.Signup) { m.UserId = "u" }, []Violation{{"string.min_len", "user_id"}}},
		"email":        {func(m *validationpb.Signup) { m.Email = "not an address" }, []Violation{{"string.email", "email"}}},
		"defined_only": {func(m *validationpb.Signup) { m.Plan = 7 }, []Violation{{"enum.defined_only", "plan"}}},
		"unspecified":  {func(m *validationpb.Signup) { m.Plan = validationpb.Plan_PLAN_UNSPECIFIED }, []Violation{{"enum.not_in", "plan"}}},
		"cel":          {func(m *validationpb.Signup) { m.EndsAt = m.StartsAt }, []Violation{{"signup.ends_after_starts", ""}}},
		// protovalidate-go reports message rules before field rules.
		"all, in protovalidate's order": {func(m *validationpb.Signup) {
			m.UserId, m.Email, m.EndsAt = "", "x", 0
		}, []Violation{{"signup.ends_after_starts", ""}, {"string.min_len", "user_id"}, {"string.email", "email"}}},
	} {
		t.Run(name, func(t *testing.T) {
			msg := validSignup()
			tc.change(msg)
			err := signups.Validate(msg)
			if got := violationsOf(t, err); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("violations %v, want %v", got, tc.want)
			}
			if !errors.Is(err, ErrValidation) || !errors.Is(err, ErrContract) || ErrorKind(err) != "ValidationError" {
				t.Errorf("%v is not a ValidationError contract error", err)
			}
		})
	}
}

func TestNestedFieldPaths(t *testing.T) {
	orders := Topic[*validationpb.Order]{Name: "validation.orders.v1", New: func() *validationpb.Order { return new(validationpb.Order) }}
	order := &validationpb.Order{
		OrderId:    "not-a-uuid",
		Shipping:   &validationpb.Address{},
		Lines:      []*validationpb.Line{{Sku: "a", Amount: 1}, {Sku: "b", Amount: 2}, {Sku: "c", Amount: 0}},
		Quantities: map[string]int64{"x": 1},
		Priority:   10,
	}
	want := []Violation{
		{"string.uuid", "order_id"},
		{"string.min_len", "shipping.zone_id"},
		{"int64.gt", "lines[2].amount"},
		{"string.min_len", `quantities["x"]`},
		{"int32.gte_lte", "priority"},
	}
	if got := violationsOf(t, orders.Validate(order)); !reflect.DeepEqual(got, want) {
		t.Errorf("violations %v,\nwant %v", got, want)
	}
	want = []Violation{{"required", "shipping"}, {"repeated.min_items", "lines"}}
	if got := violationsOf(t, orders.Validate(&validationpb.Order{OrderId: "0b7e4a52-3c1f-4d2a-9a51-2f1c8e0d6b11"})); !reflect.DeepEqual(got, want) {
		t.Errorf("violations %v, want %v", got, want)
	}
}

func TestValidationErrorSaysWhatAndWhere(t *testing.T) {
	msg := validSignup()
	msg.Email = "x"
	text := signups.Validate(msg).Error()
	for _, part := range []string{"validation.v1.Signup", `"validation.signups.v1"`, "email", "string.email"} {
		if !strings.Contains(text, part) {
			t.Errorf("%q does not mention %q", text, part)
		}
	}
}

func TestMessagesWithoutRulesAlwaysPass(t *testing.T) {
	topic := Topic[*structpb.Struct]{Name: "t", New: func() *structpb.Struct { return new(structpb.Struct) }}
	if err := topic.Validate(&structpb.Struct{}); err != nil {
		t.Fatal(err)
	}
	if hasRules((&structpb.Struct{}).ProtoReflect().Descriptor()) {
		t.Error("google.protobuf.Struct has no rules")
	}
	if !hasRules((&validationpb.Line{}).ProtoReflect().Descriptor()) || !hasRules((&validationpb.Order{}).ProtoReflect().Descriptor()) {
		t.Error("Line has a field rule, Order has rules of its own and contains Lines")
	}
	if err := signups.Validate(nil); err != nil {
		t.Fatalf("a nil message is for Encode to refuse, not validation: %v", err)
	}
}

func TestViolationsHeaderIsAJSONArrayOfAtMost100(t *testing.T) {
	header := violationsHeader(&ValidationError{Violations: []Violation{{"string.email", "email"}, {"x", ""}}})
	if string(header) != `[{"rule_id":"string.email","field":"email"},{"rule_id":"x","field":""}]` {
		t.Errorf("header %s", header)
	}
	header = violationsHeader(&ValidationError{Violations: []Violation{{"string.min_len", `m["<&é>"]`}}})
	if string(header) != `[{"rule_id":"string.min_len","field":"m[\"<&é>\"]"}]` {
		t.Errorf("header %s", header)
	}
	if string(violationsHeader(&ValidationError{})) != "[]" {
		t.Error("no violations must still be an array")
	}
	many := make([]Violation, 150)
	var decoded []Violation
	if err := json.Unmarshal(violationsHeader(&ValidationError{Violations: many}), &decoded); err != nil || len(decoded) != 100 {
		t.Errorf("%d violations, %v", len(decoded), err)
	}
}

func TestValidationModeNames(t *testing.T) {
	var zero ValidationMode
	if zero != ValidationReject {
		t.Error("the zero mode must be the registry's default, VALIDATION_REJECT")
	}
	for mode, want := range map[ValidationMode]string{ValidationReject: "VALIDATION_REJECT", ValidationDLQ: "VALIDATION_DLQ", ValidationOff: "VALIDATION_OFF"} {
		if mode.String() != want {
			t.Errorf("%d: %s", mode, mode)
		}
	}
}

// signupTestTopic creates a fresh Signup topic and its dlq for one test.
func signupTestTopic(t *testing.T, mode ValidationMode) Topic[*validationpb.Signup] {
	t.Helper()
	topic := signups
	topic.Name = fmt.Sprintf("test.validation.%s.%d.%d", strings.ToLower(strings.ReplaceAll(t.Name(), "/", ".")), time.Now().UnixNano(), topicCounter.Add(1))
	topic.Settings = Settings{Partitions: 1, ReplicationFactor: 1}
	topic.Validation = mode
	client := rawClient(t)
	if err := CreateTopics(testContext(t), client, topic.Spec()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = kadm.NewClient(client).DeleteTopics(ctx, topic.Name, topic.DLQName())
	})
	return topic
}

func TestRejectModeRefusesAnInvalidMessageAndSendsNothing(t *testing.T) {
	requireKafka(t)
	topic := signupTestTopic(t, ValidationReject)
	producer := newTestProducer(t)
	ctx := testContext(t)
	invalid := validSignup()
	invalid.Email = "nobody"
	err := Send(ctx, producer, topic, invalid)
	if got := violationsOf(t, err); !reflect.DeepEqual(got, []Violation{{"string.email", "email"}}) {
		t.Fatalf("violations %v", got)
	}
	var promised error
	done := make(chan struct{})
	SendAsync(ctx, producer, topic, invalid, func(_ *kgo.Record, err error) { promised = err; close(done) })
	<-done
	if !errors.Is(promised, ErrValidation) {
		t.Fatalf("SendAsync: %v", promised)
	}
	if err := Send(ctx, producer, topic, validSignup()); err != nil {
		t.Fatal(err)
	}
	if ends := endOffsets(t, topic.Name); ends[0] != 1 {
		t.Fatalf("the topic holds %d records, want only the valid one", ends[0])
	}
}

// TestConsumerDeadLettersInvalidRecords sends through DLQ mode (no check on
// the producer's side), then consumes with the same topic: the invalid
// records go to the dlq with the violations, the valid ones to the handler.
func TestConsumerDeadLettersInvalidRecords(t *testing.T) {
	requireKafka(t)
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch-%v", batch), func(t *testing.T) {
			topic := signupTestTopic(t, ValidationDLQ)
			producer := newTestProducer(t)
			ctx := testContext(t)
			badEmail, badPeriod := validSignup(), validSignup()
			badEmail.UserId, badEmail.Email = "bad-email", "@"
			badPeriod.UserId, badPeriod.Plan, badPeriod.EndsAt = "bad-period", validationpb.Plan_PLAN_UNSPECIFIED, 0
			sent := []*validationpb.Signup{validSignup(), badEmail, badPeriod, validSignup()}
			for _, msg := range sent {
				if err := Send(ctx, producer, topic, msg); err != nil {
					t.Fatal(err)
				}
			}
			consumer := newTestConsumer(t, WithStopAfter(len(sent)))
			var handled []*validationpb.Signup
			var err error
			if batch {
				err = ConsumeBatch(ctx, consumer, topic, func(_ context.Context, msgs []*validationpb.Signup, _ []Metadata) error {
					handled = append(handled, msgs...)
					return nil
				}, 10, 200*time.Millisecond)
			} else {
				err = Consume(ctx, consumer, topic, func(_ context.Context, msg *validationpb.Signup, _ Metadata) error {
					handled = append(handled, msg)
					return nil
				})
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(handled) != 2 || !proto.Equal(handled[0], validSignup()) || !proto.Equal(handled[1], validSignup()) {
				t.Errorf("handled %v, want the two valid signups", handled)
			}
			letters := readTopic(t, topic.DLQName(), 2)
			want := map[string]string{
				"bad-email":  `[{"rule_id":"string.email","field":"email"}]`,
				"bad-period": `[{"rule_id":"signup.ends_after_starts","field":""},{"rule_id":"enum.not_in","field":"plan"}]`,
			}
			for _, letter := range letters {
				key := string(letter.Key)
				if header(letter, DLQHeaderReason) != "validation" || header(letter, DLQHeaderAttempts) != "0" ||
					header(letter, DLQHeaderViolations) != want[key] || header(letter, HeaderType) != "validation.v1.Signup" {
					t.Errorf("dead letter %s: headers %v", key, headerMap(t, letter.Headers))
				}
				if !strings.Contains(header(letter, DLQHeaderError), "breaks the contract's rules") {
					t.Errorf("dead letter %s: error %q", key, header(letter, DLQHeaderError))
				}
			}
			assertAllCommitted(t, consumer.Group(), topic.Name)
		})
	}
}

func TestOffModeHandsInvalidRecordsToTheHandler(t *testing.T) {
	requireKafka(t)
	topic := signupTestTopic(t, ValidationOff)
	producer := newTestProducer(t)
	ctx := testContext(t)
	invalid := validSignup()
	invalid.Email = "nobody"
	if err := Send(ctx, producer, topic, invalid); err != nil {
		t.Fatal(err)
	}
	consumer := newTestConsumer(t, WithStopAfter(1))
	var handled []*validationpb.Signup
	if err := Consume(ctx, consumer, topic, func(_ context.Context, msg *validationpb.Signup, _ Metadata) error {
		handled = append(handled, msg)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(handled) != 1 || !proto.Equal(handled[0], invalid) {
		t.Fatalf("handled %v", handled)
	}
	if ends := endOffsets(t, topic.DLQName()); ends[0] != 0 {
		t.Fatalf("%d dead letters in mode OFF", ends[0])
	}
}
