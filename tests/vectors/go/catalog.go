package main

import (
	"fmt"
	"math"
	"strings"

	auditv1 "example.com/registry/gen/audit/v1"
	commonv1 "example.com/registry/gen/common/v1"
	emailv1 "example.com/registry/gen/email/v1"
	marketingv1 "example.com/registry/gen/marketing/v1"
	preferencesv1 "example.com/registry/gen/preferences/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The catalog: the same vectors, id for id and value for value, as CATALOG in
// tests/test_golden_vectors.py and tests/vectors/rust/src/catalog.rs.

type entry struct {
	id       string
	typeName string
	build    func() proto.Message
}

const (
	auditType       = "audit.v1.AuditEvent"
	emailType       = "email.v1.EmailMessage"
	marketingType   = "marketing.v1.AudienceMember"
	preferencesType = "preferences.v1.PreferenceChanged"
)

var (
	timestampMax = func() *timestamppb.Timestamp {
		return &timestamppb.Timestamp{Seconds: 253_402_300_799, Nanos: 999_999_999}
	}
	timestampMin = func() *timestamppb.Timestamp { return &timestamppb.Timestamp{Seconds: -62_135_596_800} }
)

func mustStruct(fields map[string]any) *structpb.Struct {
	s, err := structpb.NewStruct(fields)
	if err != nil {
		panic(err)
	}
	return s
}

func catalog() []entry {
	return []entry{
		{"audit/empty", auditType, func() proto.Message { return &auditv1.AuditEvent{} }},
		{"audit/zone-deleted", auditType, func() proto.Message {
			return &auditv1.AuditEvent{
				EventId: "0f8fad5b-d9cb-469f-a165-70867728950e",
				ZoneId:  "zone-42",
				Actor: &commonv1.Actor{
					Kind: commonv1.ActorKind_ACTOR_KIND_USER, Id: "user-1001",
					DisplayName: "Ada Lovelace", IpAddress: "2001:db8::1",
				},
				OccurredAt: &timestamppb.Timestamp{Seconds: 1_795_567_700, Nanos: 123_456_789},
				Change: &auditv1.AuditEvent_ZoneDeleted_{ZoneDeleted: &auditv1.AuditEvent_ZoneDeleted{
					ZoneName: "example.com", Soft: true, RecordCount: math.MaxUint32,
				}},
				Labels: map[string]string{
					"request_id": "req-7f3a", "user_agent": "curl/8.5.0", "client": "terraform",
					"z-last": "z", "a-first": "a",
				},
				Details: mustStruct(map[string]any{
					"count":    3,
					"ratio":    0.25,
					"dry_run":  false,
					"reason":   "customer request",
					"previous": nil,
					"tags":     []any{"dns", 2, true, nil, map[string]any{"k": "v"}},
					"nested":   map[string]any{"depth": 1, "inner": map[string]any{"list": []any{}}},
					"empty":    map[string]any{},
				}),
			}
		}},
		{"audit/setting-changed", auditType, func() proto.Message {
			return &auditv1.AuditEvent{
				EventId:    "e-2",
				ZoneId:     "zone-7",
				Actor:      &commonv1.Actor{Kind: commonv1.ActorKind_ACTOR_KIND_SERVICE, Id: "svc-zones", IpAddress: "10.0.0.7"},
				OccurredAt: &timestamppb.Timestamp{Seconds: -1, Nanos: 1},
				Change: &auditv1.AuditEvent_SettingChanged_{SettingChanged: &auditv1.AuditEvent_SettingChanged{
					Setting: "ssl_mode", OldValue: "flexible", NewValue: "strict",
				}},
				Labels: map[string]string{"request_id": "req-8"},
			}
		}},
		{"audit/present-but-empty", auditType, func() proto.Message {
			return &auditv1.AuditEvent{
				Actor:      &commonv1.Actor{},
				OccurredAt: &timestamppb.Timestamp{},
				Change:     &auditv1.AuditEvent_ZoneDeleted_{ZoneDeleted: &auditv1.AuditEvent_ZoneDeleted{}},
				Details:    &structpb.Struct{},
			}
		}},
		{"audit/empty-setting-changed", auditType, func() proto.Message {
			return &auditv1.AuditEvent{
				ZoneId: "zone-8",
				Change: &auditv1.AuditEvent_SettingChanged_{SettingChanged: &auditv1.AuditEvent_SettingChanged{}},
			}
		}},
		{"audit/unicode", auditType, func() proto.Message {
			return &auditv1.AuditEvent{
				EventId: "événement-😀",
				ZoneId:  "zoné-日本-🦀",
				Actor:   &commonv1.Actor{Kind: commonv1.ActorKind_ACTOR_KIND_SYSTEM, Id: "用户-1", DisplayName: "𝔸𝕕𝕒 Łovelace 👩‍💻"},
				Change: &auditv1.AuditEvent_ZoneDeleted_{ZoneDeleted: &auditv1.AuditEvent_ZoneDeleted{
					ZoneName: "bücher.example",
				}},
				Labels: map[string]string{
					"é": "e-acute", "z": "ascii", "日本": "cjk", "😀": "astral", "\ufffd": "replacement", "Z": "upper",
				},
				Details: mustStruct(map[string]any{"名前": "テスト", "emoji": "🎉", "mixed": []any{"ä", "😀"}}),
			}
		}},
		{"audit/labels-prefix-keys", auditType, func() proto.Message {
			return &auditv1.AuditEvent{
				ZoneId: "zone-9",
				Labels: map[string]string{"request_id": "req-9", "request": "r", "request_id_2": "x", "b": "2", "a": "1"},
			}
		}},
		{"audit/map-empty-key", auditType, func() proto.Message {
			return &auditv1.AuditEvent{ZoneId: "zone-10", Labels: map[string]string{"": "empty key"}}
		}},
		{"audit/map-empty-value", auditType, func() proto.Message {
			return &auditv1.AuditEvent{ZoneId: "zone-11", Labels: map[string]string{"empty-value": ""}}
		}},
		{"audit/timestamp-max", auditType, func() proto.Message {
			return &auditv1.AuditEvent{ZoneId: "zone-12", OccurredAt: timestampMax()}
		}},
		{"audit/timestamp-min", auditType, func() proto.Message {
			return &auditv1.AuditEvent{ZoneId: "zone-13", OccurredAt: timestampMin()}
		}},
		{"audit/struct-numbers", auditType, func() proto.Message {
			return &auditv1.AuditEvent{
				ZoneId: "zone-14",
				Details: mustStruct(map[string]any{
					"zero":           0.0,
					"minus_zero":     math.Copysign(0, -1),
					"max":            math.MaxFloat64,
					"min_subnormal":  math.SmallestNonzeroFloat64,
					"int_max":        9_007_199_254_740_991.0,
					"below_freezing": -273.15,
					"tiny":           1e-300,
				}),
			}
		}},
		{"email/empty", emailType, func() proto.Message { return &emailv1.EmailMessage{} }},
		{"email/full", emailType, func() proto.Message {
			logo := make([]byte, 256)
			for i := range logo {
				logo[i] = byte(i)
			}
			return &emailv1.EmailMessage{
				MessageId:       "msg-0001",
				TemplateId:      "invoice-ready",
				TemplateVersion: 3,
				To: []*commonv1.EmailAddress{
					{Address: "ada@example.com", Name: "Ada Lovelace"},
					{Address: "grace@example.com", Name: "Grace Hopper"},
				},
				Cc: []*commonv1.EmailAddress{{Address: "billing@example.com"}},
				Metadata: map[string]string{
					"invoice_no": "2026-0001", "amount": "12.50", "currency": "EUR", "Customer": "ACME", "due": "2026-12-01",
				},
				Priority:  emailv1.Priority_PRIORITY_HIGH,
				SendAfter: &timestamppb.Timestamp{Seconds: 1_795_567_700, Nanos: 500_000_000},
				ExpiresIn: &durationpb.Duration{Seconds: 3600, Nanos: 250_000_000},
				ReplyTo:   wrapperspb.String("support@example.com"),
				Attachments: map[string]*emailv1.EmailMessage_Attachment{
					"cid-invoice": {Filename: "invoice.pdf", ContentType: "application/pdf", Content: []byte("%PDF-1.7\n\x00\x01\xff")},
					"cid-logo":    {Filename: "logo.png", ContentType: "image/png", Content: logo},
				},
				Limits: &emailv1.EmailMessage_Limits{
					MaxBytes: 10_485_760, QuotaLeft: 5000, TzOffsetMinutes: -300, Balance: -1_234_567_890_123,
					Shard: 7, Tenant: 123_456_789_012, Delta: -42, BigDelta: -9_876_543_210,
					SpamScore: 0.25, Reputation: 0.875, Retries: 3,
				},
			}
		}},
		{"email/limits-max", emailType, func() proto.Message {
			return &emailv1.EmailMessage{
				MessageId:       "msg-max",
				TemplateVersion: math.MaxInt32,
				SendAfter:       timestampMax(),
				ExpiresIn:       &durationpb.Duration{Seconds: 315_576_000_000, Nanos: 999_999_999},
				Limits: &emailv1.EmailMessage_Limits{
					MaxBytes: math.MaxInt64, QuotaLeft: math.MaxUint64, TzOffsetMinutes: math.MaxInt32,
					Balance: math.MaxInt64, Shard: math.MaxUint32, Tenant: math.MaxUint64,
					Delta: math.MaxInt32, BigDelta: math.MaxInt64, Retries: math.MaxUint32,
				},
			}
		}},
		{"email/limits-min", emailType, func() proto.Message {
			return &emailv1.EmailMessage{
				MessageId:       "msg-min",
				TemplateVersion: math.MinInt32,
				SendAfter:       timestampMin(),
				ExpiresIn:       &durationpb.Duration{Seconds: -315_576_000_000, Nanos: -999_999_999},
				Limits: &emailv1.EmailMessage_Limits{
					MaxBytes: math.MinInt64, QuotaLeft: 1, TzOffsetMinutes: math.MinInt32,
					Balance: math.MinInt64, Shard: 1, Tenant: 1, Delta: math.MinInt32, BigDelta: math.MinInt64,
					SpamScore: math.SmallestNonzeroFloat32, Reputation: math.SmallestNonzeroFloat64, Retries: 1,
				},
			}
		}},
		{"email/float-max", emailType, func() proto.Message {
			return &emailv1.EmailMessage{
				MessageId: "msg-float-max",
				Limits:    &emailv1.EmailMessage_Limits{SpamScore: math.MaxFloat32, Reputation: math.MaxFloat64},
			}
		}},
		{"email/negative-one", emailType, func() proto.Message {
			return &emailv1.EmailMessage{
				MessageId:       "msg-minus-one",
				TemplateVersion: -1,
				Priority:        emailv1.Priority_PRIORITY_LOW,
				Limits: &emailv1.EmailMessage_Limits{
					MaxBytes: -1, TzOffsetMinutes: -1, Balance: -1, Delta: -1, BigDelta: -1,
					SpamScore: -1.5, Reputation: -0.1,
				},
			}
		}},
		{"email/float-rounding", emailType, func() proto.Message {
			return &emailv1.EmailMessage{
				MessageId: "msg-round",
				Limits:    &emailv1.EmailMessage_Limits{SpamScore: 0.1, Reputation: 0.1},
			}
		}},
		{"email/negative-zero", emailType, func() proto.Message {
			return &emailv1.EmailMessage{
				MessageId: "msg-minus-zero",
				Limits: &emailv1.EmailMessage_Limits{
					SpamScore: float32(math.Copysign(0, -1)), Reputation: math.Copysign(0, -1),
				},
			}
		}},
		{"email/infinities", emailType, func() proto.Message {
			return &emailv1.EmailMessage{
				MessageId: "msg-inf",
				Limits:    &emailv1.EmailMessage_Limits{SpamScore: float32(math.Inf(1)), Reputation: math.Inf(-1)},
			}
		}},
		{"email/nan", emailType, func() proto.Message {
			// math.NaN() is 0x7ff8000000000001; Python and Rust write the quiet NaN 0x7ff8000000000000.
			return &emailv1.EmailMessage{
				MessageId: "msg-nan",
				Limits: &emailv1.EmailMessage_Limits{
					SpamScore: math.Float32frombits(0x7fc00000), Reputation: math.Float64frombits(0x7ff8000000000000),
				},
			}
		}},
		{"email/present-but-empty", emailType, func() proto.Message {
			return &emailv1.EmailMessage{
				MessageId: "msg-empty-parts",
				SendAfter: &timestamppb.Timestamp{},
				ExpiresIn: &durationpb.Duration{},
				ReplyTo:   wrapperspb.String(""),
				Limits:    &emailv1.EmailMessage_Limits{},
			}
		}},
		{"email/unicode", emailType, func() proto.Message {
			return &emailv1.EmailMessage{
				MessageId:  "msg-日本-😀",
				TemplateId: "welcome-ünïcödé",
				To: []*commonv1.EmailAddress{
					{Address: "zoë@example.com", Name: "Zoë Ünïcode"},
					{Address: "用户@例子.广告", Name: "李雷"},
					{Address: "ferris@example.com", Name: "🦀 Ferris"},
				},
				Metadata: map[string]string{"emoji": "🎉🎊", "greeting": "こんにちは", "ümlaut": "ä", "𝔘𝔫𝔦": "astral key"},
				ReplyTo:  wrapperspb.String("réponse@example.com"),
				Attachments: map[string]*emailv1.EmailMessage_Attachment{
					"cid-😀": {Filename: "résumé – 😀.txt", ContentType: "text/plain; charset=utf-8", Content: []byte("Grüße 😀")},
				},
			}
		}},
		{"email/repeated-many", emailType, func() proto.Message {
			message := &emailv1.EmailMessage{MessageId: "msg-many", Priority: emailv1.Priority_PRIORITY_NORMAL}
			for number := range 25 {
				message.To = append(message.To, &commonv1.EmailAddress{
					Address: fmt.Sprintf("user%02d@example.com", number), Name: fmt.Sprintf("User %d", number),
				})
			}
			message.Cc = []*commonv1.EmailAddress{{}, {Address: "only@example.com"}}
			return message
		}},
		{"email/map-default-values", emailType, func() proto.Message {
			return &emailv1.EmailMessage{
				MessageId:   "msg-map-defaults",
				Metadata:    map[string]string{"blank": ""},
				Attachments: map[string]*emailv1.EmailMessage_Attachment{"cid-empty": {}},
			}
		}},
		{"email/map-many-keys", emailType, func() proto.Message {
			message := &emailv1.EmailMessage{
				MessageId:   "msg-many-keys",
				Metadata:    map[string]string{},
				Attachments: map[string]*emailv1.EmailMessage_Attachment{},
			}
			for index := 1; index <= 40; index++ {
				number := 37 * index % 101
				message.Metadata[fmt.Sprintf("key-%03d", number)] = fmt.Sprintf("value-%d", number)
				if index <= 5 {
					message.Attachments[fmt.Sprintf("cid-%03d", number)] = &emailv1.EmailMessage_Attachment{
						Filename: fmt.Sprintf("file-%d.txt", number),
					}
				}
			}
			return message
		}},
		{"email/unknown-enum", emailType, func() proto.Message {
			return &emailv1.EmailMessage{MessageId: "msg-unknown-enum", Priority: emailv1.Priority(99)}
		}},
		{"marketing/empty", marketingType, func() proto.Message { return &marketingv1.AudienceMember{} }},
		{"marketing/full", marketingType, func() proto.Message {
			return &marketingv1.AudienceMember{
				UserId: "user-1001", EmailOptedIn: true,
				Lists: []string{"product-updates", "newsletter", "events"}, Locale: "pt-BR",
			}
		}},
		{"marketing/opted-out", marketingType, func() proto.Message {
			return &marketingv1.AudienceMember{
				UserId: "user-1002", EmailOptedIn: false, Lists: []string{"product-updates"}, Locale: "de-DE",
			}
		}},
		{"marketing/unicode", marketingType, func() proto.Message {
			return &marketingv1.AudienceMember{
				UserId:       "ユーザー-😀",
				EmailOptedIn: true,
				Lists:        []string{"新闻", "🎵 music", "café", "cafe\u0301", "👩\u200d💻 dev", "𝔘𝔫𝔦"},
				Locale:       "sr-Latn-RS",
			}
		}},
		{"marketing/empty-key", marketingType, func() proto.Message {
			return &marketingv1.AudienceMember{EmailOptedIn: true, Lists: []string{"newsletter"}, Locale: "en"}
		}},
		{"marketing/repeated-strings", marketingType, func() proto.Message {
			return &marketingv1.AudienceMember{
				UserId: "user-3",
				Lists:  []string{"z-last", "", "a-first", "a-first", "", strings.Repeat("x", 300)},
			}
		}},
		{"preferences/empty", preferencesType, func() proto.Message { return &preferencesv1.PreferenceChanged{} }},
		{"preferences/full", preferencesType, func() proto.Message {
			return &preferencesv1.PreferenceChanged{
				UserId: "user-1001",
				ChangedBy: &commonv1.Actor{
					Kind: commonv1.ActorKind_ACTOR_KIND_USER, Id: "user-1001", DisplayName: "Ada", IpAddress: "192.0.2.1",
				},
				ChangedAt: &timestamppb.Timestamp{Seconds: 1_795_567_700, Nanos: 1},
				Channels: []*preferencesv1.ChannelPreference{
					{Channel: commonv1.Channel_CHANNEL_EMAIL, OptedIn: true},
					{Channel: commonv1.Channel_CHANNEL_SMS, OptedIn: false},
					{Channel: commonv1.Channel_CHANNEL_PUSH, OptedIn: true},
					{},
				},
				Subscriptions: []string{"product-updates", "billing", "", "security"},
				Locale:        "pt-BR",
				QuietHours:    &preferencesv1.QuietHours{StartMinute: 1320, EndMinute: 420, TimeZone: "America/Sao_Paulo"},
			}
		}},
		{"preferences/unknown-enums", preferencesType, func() proto.Message {
			return &preferencesv1.PreferenceChanged{
				UserId:    "user-2",
				ChangedBy: &commonv1.Actor{Kind: commonv1.ActorKind(-1), Id: "migration-7"},
				Channels: []*preferencesv1.ChannelPreference{
					{Channel: commonv1.Channel(99), OptedIn: true},
					{Channel: commonv1.Channel(math.MaxInt32)},
				},
			}
		}},
		{"preferences/unicode", preferencesType, func() proto.Message {
			return &preferencesv1.PreferenceChanged{
				UserId:        "ユーザー-😀",
				ChangedBy:     &commonv1.Actor{Kind: commonv1.ActorKind_ACTOR_KIND_USER, DisplayName: "Łukasz 🧑‍🚀"},
				Subscriptions: []string{"新闻", "🎵 music", "ñandú"},
				Locale:        "zh-Hant-TW",
				QuietHours:    &preferencesv1.QuietHours{StartMinute: 0, EndMinute: 1439, TimeZone: "Asia/Kolkata"},
			}
		}},
		{"preferences/empty-key", preferencesType, func() proto.Message {
			return &preferencesv1.PreferenceChanged{
				Locale:     "en",
				ChangedBy:  &commonv1.Actor{},
				ChangedAt:  &timestamppb.Timestamp{},
				QuietHours: &preferencesv1.QuietHours{},
			}
		}},
	}
}
