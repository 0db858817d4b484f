package main

// The messages of tests/test_e2e.py ("messages built from an index"), value for
// value the same as audit_event, email_message and preference_changed there
// and in ../rust/src/messages.rs.

import (
	"fmt"
	"strconv"

	auditv1 "example.com/registry/gen/audit/v1"
	commonv1 "example.com/registry/gen/common/v1"
	emailv1 "example.com/registry/gen/email/v1"
	preferencesv1 "example.com/registry/gen/preferences/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const baseSeconds = 1_795_567_700 // 2026-11-25T00:48:20Z

func auditEvent(i int) *auditv1.AuditEvent {
	// Some keys are not ASCII, some are empty (an empty key, not none).
	zone := fmt.Sprintf("zone-%d", i)
	switch {
	case i%7 == 6:
		zone = ""
	case i%5 == 4:
		zone = fmt.Sprintf("zöne-%d", i)
	}
	kind, parity := commonv1.ActorKind_ACTOR_KIND_USER, "even"
	if i%2 == 1 {
		kind, parity = commonv1.ActorKind_ACTOR_KIND_SERVICE, "odd"
	}
	details, err := structpb.NewStruct(map[string]any{
		"index": float64(i),
		"half":  float64(i) / 2,
		"tags":  []any{"e2e", i%3 == 0},
		"none":  nil,
	})
	if err != nil {
		panic(err)
	}
	event := &auditv1.AuditEvent{
		EventId: fmt.Sprintf("audit-%d", i),
		ZoneId:  zone,
		Actor: &commonv1.Actor{
			Kind:        kind,
			Id:          fmt.Sprintf("actor-%d", i),
			DisplayName: fmt.Sprintf("Actor №%d", i),
			IpAddress:   fmt.Sprintf("10.0.0.%d", i%256),
		},
		OccurredAt: &timestamppb.Timestamp{Seconds: int64(baseSeconds + i), Nanos: int32((i * 1_000_003) % 1_000_000_000)},
		Labels:     map[string]string{"index": strconv.Itoa(i), "parity": parity},
		Details:    details,
	}
	if i%2 == 0 {
		event.Change = &auditv1.AuditEvent_ZoneDeleted_{ZoneDeleted: &auditv1.AuditEvent_ZoneDeleted{
			ZoneName:    fmt.Sprintf("z%d.example.com", i),
			Soft:        i%4 == 0,
			RecordCount: uint32(i * 1000),
		}}
	} else {
		event.Change = &auditv1.AuditEvent_SettingChanged_{SettingChanged: &auditv1.AuditEvent_SettingChanged{
			Setting:  "ttl",
			OldValue: strconv.Itoa(i),
			NewValue: strconv.Itoa(i + 1),
		}}
	}
	return event
}

func emailMessage(i int) *emailv1.EmailMessage {
	message := &emailv1.EmailMessage{
		MessageId:       fmt.Sprintf("msg-%d", i),
		TemplateId:      "welcome",
		TemplateVersion: int32(i + 1),
		To:              []*commonv1.EmailAddress{{Address: fmt.Sprintf("user%d@example.com", i), Name: fmt.Sprintf("User %d", i)}},
		Metadata:        map[string]string{"index": strconv.Itoa(i)},
		Priority:        emailv1.Priority(i%3 + 1),
		SendAfter:       &timestamppb.Timestamp{Seconds: int64(baseSeconds + 60*i)},
		ExpiresIn:       &durationpb.Duration{Seconds: int64(3600 * (i + 1)), Nanos: int32(i)},
		Attachments: map[string]*emailv1.EmailMessage_Attachment{
			fmt.Sprintf("note-%d.txt", i): {
				Filename:    fmt.Sprintf("note-%d.txt", i),
				ContentType: "text/plain",
				Content:     []byte{byte(i % 256), 0, 255},
			},
		},
		Limits: &emailv1.EmailMessage_Limits{
			MaxBytes:        -int64(i) * 1000,
			QuotaLeft:       1<<63 + uint64(i),
			TzOffsetMinutes: -60 * int32(i),
			Balance:         -(1 << 40) - int64(i),
			Shard:           uint32(i),
			Tenant:          ^uint64(0) - uint64(i),
			Delta:           -int32(i),
			BigDelta:        -(1 << 50) - int64(i),
			SpamScore:       float32(i) / 4,
			Reputation:      0.5 + float64(i)/8,
			Retries:         uint32(i),
		},
	}
	if i%2 == 1 {
		message.Cc = []*commonv1.EmailAddress{{Address: "audit@example.com"}}
	} else {
		message.ReplyTo = wrapperspb.String(fmt.Sprintf("reply-%d@example.com", i))
	}
	return message
}

func preferenceChanged(i int) *preferencesv1.PreferenceChanged {
	return &preferencesv1.PreferenceChanged{
		UserId:    fmt.Sprintf("user-%d", i),
		ChangedBy: &commonv1.Actor{Kind: commonv1.ActorKind_ACTOR_KIND_SYSTEM, Id: "svc-accounts"},
		ChangedAt: &timestamppb.Timestamp{Seconds: int64(baseSeconds + i), Nanos: 500_000_000},
		Channels: []*preferencesv1.ChannelPreference{
			{Channel: commonv1.Channel_CHANNEL_EMAIL, OptedIn: true},
			{Channel: commonv1.Channel_CHANNEL_SMS, OptedIn: i%2 == 0},
		},
		Subscriptions: []string{"news", fmt.Sprintf("tips-%d", i)},
		Locale:        "de-CH",
		QuietHours:    &preferencesv1.QuietHours{StartMinute: 1320, EndMinute: 420, TimeZone: "Europe/Zurich"},
	}
}
