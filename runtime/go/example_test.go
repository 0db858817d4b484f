package contracts_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	contracts "github.com/contractsdev/contracts/runtime/go"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// A generated package declares one binding per topic, like this one.
var greetingsV1 = contracts.Topic[*wrapperspb.StringValue]{
	Name:     "greetings.v1",
	TypeName: "google.protobuf.StringValue",
	New:      func() *wrapperspb.StringValue { return new(wrapperspb.StringValue) },
	Key:      func(m *wrapperspb.StringValue) []byte { return contracts.KeyString(m.GetValue()) },
	Settings: contracts.Settings{Partitions: 3, ReplicationFactor: 1, CleanupPolicy: "delete", Owner: "team-hello"},
}

func ExampleSend() {
	// Settings come from KAFKA_BOOTSTRAP_SERVERS and friends.
	producer, err := contracts.NewProducer(contracts.WithSource("//svc-hello"))
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Close()
	if err := contracts.Send(context.Background(), producer, greetingsV1, wrapperspb.String("hello")); err != nil {
		log.Fatal(err)
	}
}

func ExampleConsume() {
	consumer, err := contracts.NewConsumer("svc-greeter",
		contracts.WithRetryPolicy(contracts.RetryPolicy{Attempts: 5, BaseDelay: time.Second, MaxDelay: 30 * time.Second}))
	if err != nil {
		log.Fatal(err)
	}
	defer consumer.Close()
	// /livez, /readyz and /metrics for Kubernetes probes and Prometheus.
	health, err := contracts.ServeHealth(":8080", consumer)
	if err != nil {
		log.Fatal(err)
	}
	defer health.Close()
	err = contracts.Consume(context.Background(), consumer, greetingsV1,
		func(ctx context.Context, greeting *wrapperspb.StringValue, md contracts.Metadata) error {
			fmt.Println(greeting.GetValue(), "from", md.Source, "at offset", md.Offset)
			return nil // an error is retried, then the record is dead-lettered
		})
	if err != nil {
		log.Fatal(err)
	}
}

func ExampleConsumeBatch() {
	consumer, err := contracts.NewConsumer("svc-archiver", contracts.WithStopAfter(1000))
	if err != nil {
		log.Fatal(err)
	}
	defer consumer.Close()
	err = contracts.ConsumeBatch(context.Background(), consumer, greetingsV1,
		func(ctx context.Context, greetings []*wrapperspb.StringValue, _ []contracts.Metadata) error {
			return nil // e.g. one INSERT for the whole batch
		}, 500, 100*time.Millisecond)
	if err != nil {
		log.Fatal(err)
	}
}

func ExampleTopic_Decode() {
	record, _ := greetingsV1.Encode(wrapperspb.String("hello"), contracts.WithEventID("id-1"))
	greeting, err := greetingsV1.Decode(record.Value, record.Headers)
	fmt.Println(greeting.GetValue(), string(record.Key), err)

	_, err = greetingsV1.Decode(record.Value, nil) // no ce_type
	var wrongType *contracts.WrongTypeError
	fmt.Println(errors.As(err, &wrongType), errors.Is(err, contracts.ErrWrongType), errors.Is(err, contracts.ErrContract))
	fmt.Println(contracts.ErrorKind(err))
	// Output:
	// hello hello <nil>
	// true true true
	// WrongTypeError
}
