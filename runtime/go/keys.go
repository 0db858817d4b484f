package contracts

import "strconv"

// Record keys are encoded the same way in every language (docs/envelope.md),
// so that a key written by a Python producer lands on the same partition as
// the same key written by a Go producer. Each helper returns a non-nil slice:
// an empty string or bytes field is an empty key, never a null one.

// KeyString encodes a string key field as its UTF-8 bytes.
func KeyString(v string) []byte { return append([]byte{}, v...) }

// KeyBytes encodes a bytes key field as is (copied).
func KeyBytes(v []byte) []byte { return append([]byte{}, v...) }

// KeyInt64 encodes any signed integer key field, or an enum's number, in
// decimal ASCII, e.g. "-7".
func KeyInt64(v int64) []byte { return strconv.AppendInt([]byte{}, v, 10) }

// KeyUint64 encodes any unsigned integer key field in decimal ASCII.
func KeyUint64(v uint64) []byte { return strconv.AppendUint([]byte{}, v, 10) }

// KeyBool encodes a bool key field as "true" or "false".
func KeyBool(v bool) []byte { return strconv.AppendBool([]byte{}, v) }
