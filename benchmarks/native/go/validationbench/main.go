// Command validationbench prints, in one run, what checking a message's
// field rules costs per record against what encoding it costs, for
// validation.v1.Signup (five rules: min_len, email, defined_only, not_in and
// a CEL rule across two fields; tests/vectors/validation/proto), and for a
// message type without rules. No broker: CPU per record only.
//
//	cd benchmarks/native/go && go run ./validationbench [-records N]
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	contracts "github.com/contractsdev/contracts/runtime/go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/contractsdev/contracts/benchmarks/native/go/validationpb"
)

var signups = contracts.Topic[*validationpb.Signup]{
	Name: "validation.signups.v1",
	New:  func() *validationpb.Signup { return new(validationpb.Signup) },
	Key:  func(m *validationpb.Signup) []byte { return contracts.KeyString(m.GetUserId()) },
}

var noRules = contracts.Topic[*structpb.Value]{
	Name: "bench.values.v1",
	New:  func() *structpb.Value { return new(structpb.Value) },
}

func main() {
	records := flag.Int("records", 1024, "distinct messages cycled through")
	flag.Parse()
	messages := make([]*validationpb.Signup, *records)
	for i := range messages {
		messages[i] = &validationpb.Signup{
			UserId: "user-" + strconv.Itoa(i), Email: "user" + strconv.Itoa(i) + "@example.com",
			Plan: validationpb.Plan_PLAN_PRO, StartsAt: int64(i), EndsAt: int64(i) + 3600,
		}
	}
	// The rules compile on first use; that is not a per-record cost.
	if err := signups.Validate(messages[0]); err != nil {
		fmt.Fprintln(os.Stderr, "a valid message failed:", err)
		os.Exit(1)
	}
	invalid := proto.Clone(messages[0]).(*validationpb.Signup)
	invalid.UserId, invalid.Email, invalid.EndsAt = "u", "nobody", 0
	plain := structpb.NewStringValue("no rules here")

	rows := []struct {
		name string
		run  func(i int) error
	}{
		{"marshal (deterministic protobuf)", func(i int) error {
			_, err := proto.MarshalOptions{Deterministic: true}.Marshal(messages[i%len(messages)])
			return err
		}},
		{"encode (Topic.Encode: value, key, envelope headers)", func(i int) error {
			_, err := signups.Encode(messages[i%len(messages)])
			return err
		}},
		{"validate, valid Signup (5 rules)", func(i int) error { return signups.Validate(messages[i%len(messages)]) }},
		{"validate, invalid Signup (3 violations)", func(int) error {
			if signups.Validate(invalid) == nil {
				return fmt.Errorf("an invalid message passed")
			}
			return nil
		}},
		{"validate, type without rules", func(int) error { return noRules.Validate(plain) }},
	}
	fmt.Printf("Go %s, buf.build/go/protovalidate v1.4.0, %d distinct messages\n", runtime.Version(), *records)
	fmt.Printf("%-55s %12s %10s %10s\n", "per record", "ns/op", "B/op", "allocs/op")
	var encode float64
	for _, row := range rows {
		result := testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := row.run(i); err != nil {
					b.Fatal(err)
				}
			}
		})
		ns := float64(result.T.Nanoseconds()) / float64(result.N)
		if strings.HasPrefix(row.name, "encode") {
			encode = ns
		}
		ratio := ""
		if encode > 0 && strings.HasPrefix(row.name, "validate") {
			ratio = fmt.Sprintf("  (%.1fx encode)", ns/encode)
		}
		fmt.Printf("%-55s %12.0f %10d %10d%s\n", row.name, ns, result.AllocedBytesPerOp(), result.AllocsPerOp(), ratio)
	}
}
