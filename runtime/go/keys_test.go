package contracts

import (
	"math"
	"testing"
)

func TestKeyEncoding(t *testing.T) {
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"string", KeyString("zone-ü"), "zone-ü"},
		{"empty string", KeyString(""), ""},
		{"bytes", KeyBytes([]byte{0x00, 0xff}), "\x00\xff"},
		{"int64 negative", KeyInt64(-7), "-7"},
		{"int64 min", KeyInt64(math.MinInt64), "-9223372036854775808"},
		{"enum number", KeyInt64(int64(int32(2))), "2"},
		{"uint64 max", KeyUint64(math.MaxUint64), "18446744073709551615"},
		{"bool true", KeyBool(true), "true"},
		{"bool false", KeyBool(false), "false"},
	}
	for _, c := range cases {
		if string(c.got) != c.want {
			t.Errorf("%s: key %q, want %q", c.name, c.got, c.want)
		}
		// An empty key field is an empty key, not a null one.
		if c.got == nil {
			t.Errorf("%s: key is nil", c.name)
		}
	}
}

func TestKeyBytesCopies(t *testing.T) {
	field := []byte("abc")
	key := KeyBytes(field)
	field[0] = 'x'
	if string(key) != "abc" {
		t.Fatalf("key changed with the message field: %q", key)
	}
	if KeyBytes(nil) == nil {
		t.Fatal("KeyBytes(nil) is a null key")
	}
}
