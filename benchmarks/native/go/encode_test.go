package main

import (
	"testing"

	contracts "github.com/contractsdev/contracts/runtime/go"
	"google.golang.org/protobuf/proto"
)

// CPU per record of building what goes to the client, without a broker:
// go test -bench . -benchmem ./benchmarks/native/go

func BenchmarkMarshal(b *testing.B) {
	events := makeEvents()
	for i := 0; b.Loop(); i++ {
		if _, err := proto.Marshal(events[i%len(events)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalDeterministic(b *testing.B) {
	events := makeEvents()
	options := proto.MarshalOptions{Deterministic: true}
	for i := 0; b.Loop(); i++ {
		if _, err := options.Marshal(events[i%len(events)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawRecord(b *testing.B) {
	events, headers := makeEvents(), newEnvelopeHeaders()
	for i := 0; b.Loop(); i++ {
		if _, err := rawRecord("bench", events[i%len(events)], headers); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTopicEncode(b *testing.B) {
	events, topic := makeEvents(), auditTopic("bench")
	for i := 0; b.Loop(); i++ {
		if _, err := topic.Encode(events[i%len(events)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTopicEncodeWithSource(b *testing.B) {
	events, topic := makeEvents(), auditTopic("bench")
	for i := 0; b.Loop(); i++ {
		if _, err := topic.Encode(events[i%len(events)], contracts.WithEventSource("contracts")); err != nil {
			b.Fatal(err)
		}
	}
}
