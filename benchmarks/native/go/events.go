package main

import (
	"fmt"

	auditv1 "example.com/registry/gen/audit/v1"
	commonv1 "example.com/registry/gen/common/v1"
	"example.com/registry/gen/topics"
	contracts "github.com/contractsdev/contracts/runtime/go"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// distinctEvents are cycled through, as in benchmarks/sdk.py.
const distinctEvents = 1000

// makeEvents builds the AuditEvents of benchmarks/sdk.py's make_events:
// about 150 bytes each, each with its own zone (the key) and event id.
func makeEvents() []*auditv1.AuditEvent {
	events := make([]*auditv1.AuditEvent, distinctEvents)
	for n := range events {
		id := uint64(n)*7919 + 1
		events[n] = &auditv1.AuditEvent{
			// str(uuid.UUID(int=id)) for ids below 2^48
			EventId: fmt.Sprintf("00000000-0000-0000-0000-%012x", id),
			ZoneId:  fmt.Sprintf("zone-%06d", n),
			Actor: &commonv1.Actor{
				Id: fmt.Sprintf("user-%d", n%97), DisplayName: "Ada Lovelace", IpAddress: "192.0.2.10",
			},
			OccurredAt: &timestamppb.Timestamp{Seconds: 1_764_000_000 + int64(n), Nanos: 123_000_000},
			Labels:     map[string]string{"request_id": fmt.Sprintf("req-%08d", n), "user_agent": "curl/8.11.1"},
			Change: &auditv1.AuditEvent_ZoneDeleted_{ZoneDeleted: &auditv1.AuditEvent_ZoneDeleted{
				ZoneName: fmt.Sprintf("example-%d.com", n), RecordCount: uint32(n % 500),
			}},
		}
	}
	return events
}

// auditTopic is topics.AuditEventsV1 (type, type name, key) on the
// benchmark's topic, so a shared cluster's real topic gets no records.
func auditTopic(name string) contracts.Topic[*auditv1.AuditEvent] {
	topic := topics.AuditEventsV1
	topic.Name = name
	return topic
}
