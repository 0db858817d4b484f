package contracts

import (
	"errors"
	"fmt"
)

// Sentinels for errors.Is; the typed errors below carry the details for
// errors.As.
var (
	// ErrWrongType: a record's ce_type is missing or names another message.
	ErrWrongType = errors.New("contracts: wrong message type")
	// ErrDecode: a record's value does not parse as the topic's message.
	ErrDecode = errors.New("contracts: cannot decode record value")
	// ErrTopicNotFound: a topic (or its dead-letter topic) does not exist.
	ErrTopicNotFound = errors.New("contracts: topic not found")
	// ErrConfig: the connection settings are invalid.
	ErrConfig = errors.New("contracts: invalid configuration")
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

// Is makes errors.Is(err, ErrWrongType) true.
func (e *WrongTypeError) Is(target error) bool { return target == ErrWrongType }

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

// Is makes errors.Is(err, ErrDecode) true.
func (e *DecodeError) Is(target error) bool { return target == ErrDecode }

// Unwrap returns the protobuf error.
func (e *DecodeError) Unwrap() error { return e.Err }

// configError wraps ErrConfig with a message that says what to change.
func configError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
}
