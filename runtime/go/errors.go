package contracts

import (
	"errors"
	"fmt"
)

// ErrContract matches every error this package returns:
// errors.Is(err, ErrContract) holds for all of them (docs/runtime.md).
var ErrContract = errors.New("contracts")

// Sentinels of the error kinds of docs/runtime.md, for errors.Is. The typed
// errors below carry the details, for errors.As; each matches its sentinel
// and ErrContract.
var (
	// ErrWrongType: a record's ce_type is missing or names another message.
	ErrWrongType = errors.New("contracts: wrong message type")
	// ErrDecode: a record's value does not parse as the topic's message.
	ErrDecode = errors.New("contracts: cannot decode record value")
	// ErrConfig: bad settings, or a topic or its .dlq that does not exist.
	ErrConfig = errors.New("contracts: invalid configuration")
	// ErrTopicNotFound: a topic (or its dead-letter topic) does not exist.
	// Such an error is a ConfigError too.
	ErrTopicNotFound = errors.New("contracts: topic not found")
	// ErrConnection: no broker reached within the bound, a refused
	// connection, failed authentication or TLS.
	ErrConnection = errors.New("contracts: cannot connect to Kafka")
	// ErrDelivery: Kafka did not acknowledge a record.
	ErrDelivery = errors.New("contracts: record not delivered")
	// ErrDeadLetter: a record could not be written to its dead-letter topic.
	ErrDeadLetter = errors.New("contracts: cannot dead-letter record")
	// ErrValidation: a message breaks the contract's field rules.
	ErrValidation = errors.New("contracts: message breaks the contract's rules")
)

// WrongTypeError reports a record whose ce_type header is missing or is not
// the message type bound to the topic.
type WrongTypeError struct {
	Topic string
	Want  string // the bound message's full name
	Got   string // the ce_type header; empty when missing
}

func (e *WrongTypeError) Error() string {
	if e.Got == "" {
		return fmt.Sprintf("contracts: record on topic %q has no ce_type header; expected %q", e.Topic, e.Want)
	}
	return fmt.Sprintf("contracts: record on topic %q has ce_type %q; expected %q", e.Topic, e.Got, e.Want)
}

// Is makes errors.Is(err, ErrWrongType) and errors.Is(err, ErrContract) true.
func (e *WrongTypeError) Is(target error) bool {
	return target == ErrWrongType || target == ErrContract
}

// DecodeError reports a record value that does not parse as the topic's
// message type. Err is the protobuf error.
type DecodeError struct {
	Topic    string
	TypeName string
	Err      error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("contracts: record on topic %q does not decode as %q: %v", e.Topic, e.TypeName, e.Err)
}

// Is makes errors.Is(err, ErrDecode) and errors.Is(err, ErrContract) true.
func (e *DecodeError) Is(target error) bool { return target == ErrDecode || target == ErrContract }

// Unwrap returns the protobuf error.
func (e *DecodeError) Unwrap() error { return e.Err }

// ConfigError reports settings that cannot work: what to change is in the
// message. Err is the underlying cause, if any (ErrTopicNotFound for a
// missing topic).
type ConfigError struct {
	Message string
	Err     error
}

func (e *ConfigError) Error() string { return e.Message }

// Is makes errors.Is(err, ErrConfig) and errors.Is(err, ErrContract) true.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig || target == ErrContract }

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.Err }

// ConnectionError reports a cluster that could not be reached or refused
// the client (connection refused, no answer within the bound, failed SASL
// authentication or TLS handshake). Err is franz-go's error.
type ConnectionError struct {
	Message string
	Err     error
}

func (e *ConnectionError) Error() string { return e.Message }

// Is makes errors.Is(err, ErrConnection) and errors.Is(err, ErrContract) true.
func (e *ConnectionError) Is(target error) bool {
	return target == ErrConnection || target == ErrContract
}

// Unwrap returns franz-go's error.
func (e *ConnectionError) Unwrap() error { return e.Err }

// DeliveryError reports a record that Kafka did not acknowledge.
type DeliveryError struct {
	Topic    string
	TypeName string
	Err      error
}

func (e *DeliveryError) Error() string {
	return fmt.Sprintf("contracts: delivering %s to topic %q failed: %v", e.TypeName, e.Topic, e.Err)
}

// Is makes errors.Is(err, ErrDelivery) and errors.Is(err, ErrContract) true.
func (e *DeliveryError) Is(target error) bool { return target == ErrDelivery || target == ErrContract }

// Unwrap returns franz-go's error.
func (e *DeliveryError) Unwrap() error { return e.Err }

// DeadLetterError reports a record that could not be written to its
// dead-letter topic; the consumer stops without committing it rather than
// skip it.
type DeadLetterError struct {
	Topic     string
	Partition int32
	Offset    int64
	DLQ       string
	Reason    string
	Cause     error // why the record was being dead-lettered
	Err       error // why the dead letter failed
}

func (e *DeadLetterError) Error() string {
	return fmt.Sprintf("contracts: cannot dead-letter %s/%d@%d to %q (%s: %v), stopping without committing it: %v",
		e.Topic, e.Partition, e.Offset, e.DLQ, e.Reason, e.Cause, e.Err)
}

// Is makes errors.Is(err, ErrDeadLetter) and errors.Is(err, ErrContract) true.
func (e *DeadLetterError) Is(target error) bool {
	return target == ErrDeadLetter || target == ErrContract
}

// Unwrap returns the producing error.
func (e *DeadLetterError) Unwrap() error { return e.Err }

// ValidationError reports a message that breaks the contract's field rules
// (protovalidate): Send returns it in mode ValidationReject, and consumers
// dead-letter such records with reason "validation". Violations lists each
// broken rule in protovalidate's order; it is empty only when a rule failed
// to run (a CEL runtime error, in Err).
type ValidationError struct {
	Topic      string
	TypeName   string
	Violations []Violation
	Err        error // protovalidate's error
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("contracts: %s on topic %q breaks the contract's rules: %s", e.TypeName, e.Topic, describeViolations(e.Err))
}

// Is makes errors.Is(err, ErrValidation) and errors.Is(err, ErrContract) true.
func (e *ValidationError) Is(target error) bool {
	return target == ErrValidation || target == ErrContract
}

// Unwrap returns protovalidate's error.
func (e *ValidationError) Unwrap() error { return e.Err }

// ErrorKind names err's kind as docs/runtime.md does ("WrongTypeError",
// "DecodeError", "ConfigError", "ConnectionError", "DeliveryError",
// "DeadLetterError", "ValidationError"), or "" when err is not one.
func ErrorKind(err error) string {
	for _, kind := range []struct {
		sentinel error
		name     string
	}{
		{ErrDeadLetter, "DeadLetterError"},
		{ErrWrongType, "WrongTypeError"},
		{ErrDecode, "DecodeError"},
		{ErrConfig, "ConfigError"},
		{ErrConnection, "ConnectionError"},
		{ErrDelivery, "DeliveryError"},
		{ErrValidation, "ValidationError"},
	} {
		if errors.Is(err, kind.sentinel) {
			return kind.name
		}
	}
	return ""
}

// configError is a ConfigError with a message that says what to change.
func configError(format string, args ...any) error {
	return &ConfigError{Message: "contracts: invalid configuration: " + fmt.Sprintf(format, args...)}
}
