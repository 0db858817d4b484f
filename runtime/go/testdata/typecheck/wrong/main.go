// Every call below passes a message of a type the topic is not bound to;
// none of them may compile.
package main

import (
	"context"
	"time"

	contracts "github.com/contractsdev/contracts/runtime/go"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

var topic = contracts.Topic[*wrapperspb.StringValue]{
	Name: "t",
	New:  func() *wrapperspb.StringValue { return new(wrapperspb.StringValue) },
}

func main() {
	ctx := context.Background()
	var p *contracts.Producer
	var c *contracts.Consumer
	_ = contracts.Send(ctx, p, topic, &structpb.Struct{})                                                                                            // WRONG send
	_, _ = topic.Encode(wrapperspb.Int64(1))                                                                                                         // WRONG encode
	_ = contracts.Consume(ctx, c, topic, func(context.Context, *structpb.Struct, contracts.Metadata) error { return nil })                           // WRONG consume
	_ = contracts.ConsumeBatch(ctx, c, topic, func(context.Context, []*structpb.Struct, []contracts.Metadata) error { return nil }, 10, time.Second) // WRONG batch
	var s *structpb.Struct
	s, _ = topic.Decode(nil, nil) // WRONG decode
	_ = s
}
