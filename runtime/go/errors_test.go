package contracts

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorsMatchSentinelsThroughWrapping(t *testing.T) {
	wrongType := fmt.Errorf("handling: %w", &WrongTypeError{Topic: "t", Want: "a.B", Got: "a.C"})
	if !errors.Is(wrongType, ErrWrongType) || errors.Is(wrongType, ErrDecode) {
		t.Fatalf("errors.Is on %v", wrongType)
	}
	var asWrongType *WrongTypeError
	if !errors.As(wrongType, &asWrongType) || asWrongType.Got != "a.C" {
		t.Fatalf("errors.As on %v", wrongType)
	}

	cause := errors.New("proto: cannot parse invalid wire-format data")
	decode := fmt.Errorf("handling: %w", &DecodeError{Topic: "t", TypeName: "a.B", Err: cause})
	if !errors.Is(decode, ErrDecode) || !errors.Is(decode, cause) || errors.Is(decode, ErrWrongType) {
		t.Fatalf("errors.Is on %v", decode)
	}
	var asDecode *DecodeError
	if !errors.As(decode, &asDecode) || asDecode.TypeName != "a.B" {
		t.Fatalf("errors.As on %v", decode)
	}
}

func TestErrorMessagesSayWhatAndWhere(t *testing.T) {
	missing := (&WrongTypeError{Topic: "t", Want: "a.B"}).Error()
	if missing != `contracts: record on topic "t" has no ce_type header; expected "a.B"` {
		t.Errorf("missing ce_type: %s", missing)
	}
	other := (&WrongTypeError{Topic: "t", Want: "a.B", Got: "a.C"}).Error()
	if other != `contracts: record on topic "t" has ce_type "a.C"; expected "a.B"` {
		t.Errorf("other ce_type: %s", other)
	}
}

// Every kind of docs/runtime.md matches ErrContract and its own sentinel,
// and no other kind's.
func TestEveryErrorIsAContractErrorOfOneKind(t *testing.T) {
	cause := errors.New("cause")
	kinds := map[string]struct {
		err      error
		sentinel error
	}{
		"WrongTypeError":  {&WrongTypeError{Topic: "t"}, ErrWrongType},
		"DecodeError":     {&DecodeError{Topic: "t", Err: cause}, ErrDecode},
		"ConfigError":     {configError("bad"), ErrConfig},
		"ConnectionError": {&ConnectionError{Message: "m", Err: cause}, ErrConnection},
		"DeliveryError":   {&DeliveryError{Topic: "t", Err: cause}, ErrDelivery},
		"DeadLetterError": {&DeadLetterError{Topic: "t", Err: cause}, ErrDeadLetter},
		"ValidationError": {&ValidationError{Topic: "t", Err: cause}, ErrValidation},
	}
	for name, kind := range kinds {
		wrapped := fmt.Errorf("context: %w", kind.err)
		if !errors.Is(wrapped, ErrContract) || !errors.Is(wrapped, kind.sentinel) || ErrorKind(wrapped) != name {
			t.Errorf("%s: Is(ErrContract) %v, Is(own sentinel) %v, ErrorKind %q", name,
				errors.Is(wrapped, ErrContract), errors.Is(wrapped, kind.sentinel), ErrorKind(wrapped))
		}
		for other, otherKind := range kinds {
			if other != name && errors.Is(wrapped, otherKind.sentinel) {
				t.Errorf("%s also matches %s", name, other)
			}
		}
	}
	missing := &ConfigError{Message: "m", Err: ErrTopicNotFound}
	if !errors.Is(missing, ErrTopicNotFound) || ErrorKind(missing) != "ConfigError" {
		t.Errorf("a missing topic is a ConfigError matching ErrTopicNotFound")
	}
	if ErrorKind(errors.New("other")) != "" || ErrorKind(nil) != "" {
		t.Errorf("ErrorKind of a foreign error")
	}
}
