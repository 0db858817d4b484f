package contracts

import (
	"google.golang.org/protobuf/proto"
)

// DLQSuffix is appended to a topic's name to form its dead-letter topic.
const DLQSuffix = ".dlq"

// Topic binds one Kafka topic to one protobuf message type T. Generated code
// declares one Topic value per topic in the registry.
type Topic[T proto.Message] struct {
	// Name is the Kafka topic name, e.g. "audit.events.v1".
	Name string
	// TypeName is the fully qualified protobuf name of T, e.g.
	// "audit.v1.AuditEvent"; it is written to and checked against ce_type.
	// When empty, the name is taken from T's descriptor.
	TypeName string
	// New returns a new, empty T to decode into.
	New func() T
	// Key returns the record key of a message, encoded with one of the Key*
	// helpers. A nil Key means the topic has no key: records get a null key.
	Key func(T) []byte
	// Settings are the topic's registry settings.
	Settings Settings
	// Validation is where the message's field rules are enforced; the zero
	// value, ValidationReject, is the registry's default.
	Validation ValidationMode
}

// Settings are a topic's settings as declared in the registry. A zero field
// means "not set": the broker's or the registry's default applies.
type Settings struct {
	Partitions        int32
	ReplicationFactor int16
	RetentionMs       int64
	CleanupPolicy     string // "delete", "compact" or "compact,delete"
	Owner             string
	Producers         []string
	Consumers         []string
	Compatibility     string
}

// DLQName returns the name of the topic's dead-letter topic, "<name>.dlq".
func (t Topic[T]) DLQName() string { return t.Name + DLQSuffix }

// MessageName returns the fully qualified protobuf name written to and
// expected in ce_type: TypeName, or T's descriptor name when TypeName is empty.
func (t Topic[T]) MessageName() string {
	if t.TypeName != "" {
		return t.TypeName
	}
	return string(t.New().ProtoReflect().Descriptor().FullName())
}

// Spec returns the untyped description of the topic, for administrative
// helpers such as [CreateTopics] that handle topics of different types.
func (t Topic[T]) Spec() TopicSpec {
	return TopicSpec{Name: t.Name, TypeName: t.MessageName(), Settings: t.Settings}
}

// TopicSpec is a topic's name, message name and settings without its Go type.
type TopicSpec struct {
	Name     string
	TypeName string
	Settings Settings
}
