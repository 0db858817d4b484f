// The control for wrong/: the same calls with the bound type compile.
package main

import (
	"context"
	"time"

	contracts "github.com/contractsdev/contracts/runtime/go"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

var topic = contracts.Topic[*wrapperspb.StringValue]{
	Name: "t",
	New:  func() *wrapperspb.StringValue { return new(wrapperspb.StringValue) },
	Key:  func(m *wrapperspb.StringValue) []byte { return contracts.KeyString(m.GetValue()) },
}

func main() {
	ctx := context.Background()
	var p *contracts.Producer
	var c *contracts.Consumer
	_ = contracts.Send(ctx, p, topic, wrapperspb.String("a"))
	_, _ = topic.Encode(wrapperspb.String("a"))
	_ = contracts.Consume(ctx, c, topic, func(context.Context, *wrapperspb.StringValue, contracts.Metadata) error { return nil })
	_ = contracts.ConsumeBatch(ctx, c, topic, func(context.Context, []*wrapperspb.StringValue, []contracts.Metadata) error { return nil }, 10, time.Second)
}
