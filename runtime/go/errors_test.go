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
