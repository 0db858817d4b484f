package contracts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// ValidationMode says where a topic's field rules (protovalidate) are
// enforced (docs/runtime.md, "Field rules"). The zero value is
// ValidationReject, the registry's default.
type ValidationMode int

const (
	// ValidationReject: Send validates first and returns a *ValidationError
	// without sending; consumers dead-letter invalid records.
	ValidationReject ValidationMode = iota
	// ValidationDLQ: Send does not validate; consumers dead-letter invalid
	// records.
	ValidationDLQ
	// ValidationOff: nothing is validated; handlers get every record that
	// decodes.
	ValidationOff
)

// String returns the registry's name of the mode, e.g. "VALIDATION_REJECT".
func (m ValidationMode) String() string {
	switch m {
	case ValidationReject:
		return "VALIDATION_REJECT"
	case ValidationDLQ:
		return "VALIDATION_DLQ"
	case ValidationOff:
		return "VALIDATION_OFF"
	}
	return fmt.Sprintf("ValidationMode(%d)", int(m))
}

// Violation is one broken field rule: protovalidate's rule id
// ("string.email", "required", or a CEL rule's id) and the dotted path of the
// field ("shipping.zone_id", "lines[2].amount"; empty for a message rule).
// Every runtime reports the same pairs for the same message.
type Violation struct {
	RuleID string `json:"rule_id"`
	Field  string `json:"field"`
}

// maxViolationsHeader bounds the violations written to a dead letter's
// contracts_dlq_violations header (docs/runtime.md).
const maxViolationsHeader = 100

// DLQHeaderViolations holds, for reason "validation", a JSON array
// [{"rule_id": ..., "field": ...}] in the order protovalidate reported them.
const DLQHeaderViolations = "contracts_dlq_violations"

// Validate checks msg against the field rules of its contract, whatever the
// topic's mode. It returns nil or a *ValidationError listing each violation;
// a message type without rules costs a map lookup (protovalidate compiles
// the rules once per message descriptor). Rules that cannot be compiled are
// a *ConfigError: the contract itself must be fixed.
func (t Topic[T]) Validate(msg T) error {
	reflected := msg.ProtoReflect()
	if !reflected.IsValid() || !hasRules(reflected.Descriptor()) {
		// A nil message is for encoding to refuse; a type without rules
		// has nothing to check.
		return nil
	}
	return validationError(t.Name, t.MessageName(), protovalidate.GlobalValidator.Validate(msg))
}

// rulesOf caches, per message descriptor, whether the message or any
// message it contains carries a rule: protovalidate's own pass over a
// message without rules costs about as much as encoding a small one.
var rulesOf sync.Map // protoreflect.MessageDescriptor -> bool

func hasRules(desc protoreflect.MessageDescriptor) bool {
	if found, ok := rulesOf.Load(desc); ok {
		return found.(bool)
	}
	found := containsRules(desc, map[protoreflect.FullName]bool{})
	rulesOf.Store(desc, found)
	return found
}

func containsRules(desc protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
	if seen[desc.FullName()] {
		return false
	}
	seen[desc.FullName()] = true
	if marked(desc.Options(), validate.E_Message) {
		return true
	}
	for i := range desc.Oneofs().Len() {
		if marked(desc.Oneofs().Get(i).Options(), validate.E_Oneof) {
			return true
		}
	}
	for i := range desc.Fields().Len() {
		field := desc.Fields().Get(i)
		// Map fields are messages too (their entry), so their values are seen.
		if marked(field.Options(), validate.E_Field) || field.Message() != nil && containsRules(field.Message(), seen) {
			return true
		}
	}
	return false
}

// marked says whether options carry the extension. Options with unknown
// fields may hold it unparsed: they count as marked, and protovalidate
// decides.
func marked(options proto.Message, extension protoreflect.ExtensionType) bool {
	if options == nil {
		return false
	}
	return proto.HasExtension(options, extension) || len(options.ProtoReflect().GetUnknown()) > 0
}

// validateOnSend is Validate when the topic's mode rejects invalid messages
// on the producer's side.
func (t Topic[T]) validateOnSend(msg T) error {
	if t.Validation != ValidationReject {
		return nil
	}
	return t.Validate(msg)
}

// validateOnConsume is Validate unless the topic's mode turns validation off.
func validateOnConsume[T proto.Message](topic Topic[T], msg T) error {
	if topic.Validation == ValidationOff {
		return nil
	}
	return topic.Validate(msg)
}

// validationError turns protovalidate's result into this package's errors.
func validationError(topic, typeName string, err error) error {
	if err == nil {
		return nil
	}
	var invalid *protovalidate.ValidationError
	if errors.As(err, &invalid) {
		violations := make([]Violation, 0, len(invalid.Violations))
		for _, v := range invalid.Violations {
			violations = append(violations, Violation{
				RuleID: v.Proto.GetRuleId(),
				Field:  protovalidate.FieldPathString(v.Proto.GetField()),
			})
		}
		return &ValidationError{Topic: topic, TypeName: typeName, Violations: violations, Err: err}
	}
	var compilation *protovalidate.CompilationError
	if errors.As(err, &compilation) {
		return &ConfigError{
			Message: fmt.Sprintf("contracts: the field rules of %s (topic %q) do not compile, fix them in the contract (contracts lint reports them): %v", typeName, topic, err),
			Err:     err,
		}
	}
	// A rule that failed while it ran (a CEL runtime error) says nothing
	// good about the message either: it is invalid, with no rule to name.
	return &ValidationError{Topic: topic, TypeName: typeName, Err: err}
}

// violationsHeader is the contracts_dlq_violations value of a
// ValidationError: at most maxViolationsHeader violations, as JSON.
func violationsHeader(err *ValidationError) []byte {
	violations := err.Violations
	if len(violations) > maxViolationsHeader {
		violations = violations[:maxViolationsHeader]
	}
	if violations == nil {
		violations = []Violation{}
	}
	// Compact and without HTML escaping ("<" stays "<"), as Python's and
	// Rust's runtimes write it, so the same violations give the same bytes.
	var value bytes.Buffer
	encoder := json.NewEncoder(&value)
	encoder.SetEscapeHTML(false)
	_ = encoder.Encode(violations) // cannot fail: two strings per element
	return bytes.TrimSuffix(value.Bytes(), []byte("\n"))
}

// describeViolations is the part of ValidationError's message after the
// colon: protovalidate's own text for each violation, on one line.
func describeViolations(err error) string {
	var invalid *protovalidate.ValidationError
	if !errors.As(err, &invalid) {
		return err.Error()
	}
	parts := make([]string, 0, len(invalid.Violations))
	for _, v := range invalid.Violations {
		part := v.Proto.GetMessage() + " [" + v.Proto.GetRuleId() + "]"
		if field := protovalidate.FieldPathString(v.Proto.GetField()); field != "" {
			part = field + ": " + part
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; ")
}
