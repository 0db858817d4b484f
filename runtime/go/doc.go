// Package contracts is the Go runtime of the contracts registry: the library
// that generated topic bindings import.
//
// A generated package declares one [Topic] value per Kafka topic, binding the
// topic's name to exactly one protobuf message type:
//
//	var AuditEventsV1 = contracts.Topic[*auditv1.AuditEvent]{Name: "audit.events.v1", ...}
//
// Everything else lives here, written once: the record envelope (value, key
// and CloudEvents headers, see docs/envelope.md), a [Producer] and a
// [Consumer] on franz-go that enforce the binding, and dead-lettering to
// "<topic>.dlq". Because [Send], [Consume] and [ConsumeBatch] are generic over
// the topic's message type, producing or handling the wrong type does not
// compile; a record of the wrong type that arrives anyway (another producer,
// a mistake upstream) is dead-lettered instead of reaching the handler.
//
// Connection settings come from options or from the environment:
// KAFKA_BOOTSTRAP_SERVERS, KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM,
// KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, KAFKA_SSL_CA_LOCATION,
// KAFKA_SSL_CERTIFICATE_LOCATION, KAFKA_SSL_KEY_LOCATION and
// KAFKA_SSL_KEY_PASSWORD. Producers and consumers export Prometheus metrics,
// OpenTelemetry spans, and /livez, /readyz and /metrics through [ServeHealth].
// The behaviour is the one docs/runtime.md fixes for every language.
package contracts
