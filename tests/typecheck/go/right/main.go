// Uses a topic binding the way a service would: it must compile.
package main

import (
	"fmt"

	auditv1 "example.com/registry/gen/audit/v1"
	"example.com/registry/gen/topics"
)

func main() {
	event := &auditv1.AuditEvent{EventId: "e-1", ZoneId: "zone-1"}
	record, err := topics.AuditEventsV1.Encode(event)
	if err != nil {
		panic(err)
	}
	decoded, err := topics.AuditEventsV1.Decode(record.Value, record.Headers)
	if err != nil {
		panic(err)
	}
	fmt.Println(record.Topic, string(record.Key), decoded.GetZoneId())
}
