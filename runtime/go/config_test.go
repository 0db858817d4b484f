package contracts

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"google.golang.org/protobuf/types/known/structpb"
)

func fakeEnv(vars map[string]string) func(string) string {
	return func(key string) string { return vars[key] }
}

func TestResolveReadsTheEnvironment(t *testing.T) {
	cfg := clientConfig{}
	err := cfg.resolve(fakeEnv(map[string]string{
		EnvBootstrapServers: " b1:9092, b2:9093 ,",
		EnvSecurityProtocol: "sasl_plaintext",
		EnvSASLMechanism:    "scram-sha-512",
		EnvSASLUsername:     "alice",
		EnvSASLPassword:     "secret",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.bootstrapServers, "|") != "b1:9092|b2:9093" || cfg.securityProtocol != "SASL_PLAINTEXT" ||
		cfg.saslMechanism != "SCRAM-SHA-512" || cfg.saslUsername != "alice" || cfg.saslPassword != "secret" {
		t.Fatalf("resolved %+v", cfg)
	}
	if cfg.connectTimeout != DefaultConnectTimeout {
		t.Fatalf("connect timeout %s", cfg.connectTimeout)
	}
	if _, err := cfg.connectionOptions(); err != nil {
		t.Fatal(err)
	}
}

func TestOptionsOverrideTheEnvironment(t *testing.T) {
	cfg := producerConfig{}
	for _, opt := range []ProducerOption{WithBootstrapServers("opt:1"), WithSecurityProtocol("PLAINTEXT")} {
		opt.applyProducer(&cfg)
	}
	err := cfg.client.resolve(fakeEnv(map[string]string{EnvBootstrapServers: "env:1", EnvSecurityProtocol: "SSL"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.client.bootstrapServers[0] != "opt:1" || cfg.client.securityProtocol != "PLAINTEXT" {
		t.Fatalf("resolved %+v", cfg.client)
	}
}

func TestSASLMechanismDefaultsToPlain(t *testing.T) {
	cfg := clientConfig{}
	err := cfg.resolve(fakeEnv(map[string]string{EnvBootstrapServers: "b:1", EnvSecurityProtocol: "SASL_SSL", EnvSASLUsername: "alice", EnvSASLPassword: "secret"}))
	if err != nil || cfg.saslMechanism != "PLAIN" {
		t.Fatalf("mechanism %q, err %v", cfg.saslMechanism, err)
	}
}

func TestBadConfigurationIsExplained(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no servers", map[string]string{}, "KAFKA_BOOTSTRAP_SERVERS"},
		{"unknown protocol", map[string]string{EnvBootstrapServers: "b:1", EnvSecurityProtocol: "TLS"}, "PLAINTEXT, SASL_PLAINTEXT, SSL or SASL_SSL"},
		{"sasl without user", map[string]string{EnvBootstrapServers: "b:1", EnvSecurityProtocol: "SASL_SSL"}, "KAFKA_SASL_USERNAME"},
		{"sasl user without password", map[string]string{EnvBootstrapServers: "b:1", EnvSecurityProtocol: "SASL_SSL", EnvSASLUsername: "alice"}, "KAFKA_SASL_PASSWORD"},
		{"certificate without key", map[string]string{EnvBootstrapServers: "b:1", EnvSecurityProtocol: "SSL", EnvSSLCertLocation: "c.pem"}, "KAFKA_SSL_KEY_LOCATION"},
		{"credentials on plaintext", map[string]string{EnvBootstrapServers: "b:1", EnvSASLUsername: "alice"}, "use SASL_PLAINTEXT or SASL_SSL"},
	}
	for _, c := range cases {
		cfg := clientConfig{}
		err := cfg.resolve(fakeEnv(c.env))
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want ErrConfig mentioning %q", c.name, err, c.want)
		}
	}
}

func TestUnknownSASLMechanism(t *testing.T) {
	cfg := clientConfig{}
	err := cfg.resolve(fakeEnv(map[string]string{EnvBootstrapServers: "b:1", EnvSecurityProtocol: "SASL_PLAINTEXT",
		EnvSASLMechanism: "GSSAPI", EnvSASLUsername: "alice", EnvSASLPassword: "secret"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.connectionOptions(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "SCRAM-SHA-256") {
		t.Fatalf("err %v", err)
	}
}

func TestCALocation(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{notPEM: "no PEM certificate", filepath.Join(dir, "missing.pem"): "cannot read"} {
		cfg := clientConfig{}
		if err := cfg.resolve(fakeEnv(map[string]string{EnvBootstrapServers: "b:1", EnvSecurityProtocol: "SSL", EnvSSLCALocation: path})); err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.connectionOptions(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", path, err, want)
		}
	}
}

// silentBroker accepts connections and never answers, like a broker behind a
// firewall that drops packets.
func silentBroker(t *testing.T) string {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = listener.Close() })
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = conn.Close() })
		}
	}()
	return listener.Addr().String()
}

// An unreachable broker fails construction within the connect timeout, with
// the address in the message.
func TestUnreachableBrokerFailsFast(t *testing.T) {
	for _, address := range []string{"127.0.0.1:1", silentBroker(t)} {
		start := time.Now()
		_, err := NewProducer(WithBootstrapServers(address), WithConnectTimeout(time.Second))
		elapsed := time.Since(start)
		t.Logf("%s after %s: %v", address, elapsed.Round(time.Millisecond), err)
		if err == nil || !strings.Contains(err.Error(), "cannot connect to Kafka at "+address) {
			t.Errorf("%s: err %v", address, err)
		}
		if elapsed > 3*time.Second {
			t.Errorf("%s: failed after %s, want about the 1s timeout", address, elapsed)
		}
		if address == "127.0.0.1:1" && elapsed > 500*time.Millisecond {
			t.Errorf("a refused connection failed after %s, not as soon as the broker refused", elapsed)
		}
		var connectionError *ConnectionError
		if !errors.As(err, &connectionError) || !errors.Is(err, ErrContract) {
			t.Errorf("%s: %T is not a *ConnectionError", address, err)
		}
		_, err = NewConsumer("group", WithBootstrapServers(address), WithConnectTimeout(time.Second))
		if err == nil || !strings.Contains(err.Error(), "cannot connect to Kafka at "+address) {
			t.Errorf("%s: consumer err %v", address, err)
		}
	}
}

func TestConsumerOptionsAreChecked(t *testing.T) {
	if _, err := NewConsumer("", WithBootstrapServers("b:1")); !errors.Is(err, ErrConfig) {
		t.Errorf("empty group: %v", err)
	}
	if _, err := NewConsumer("g", WithBootstrapServers("b:1"), WithRetryPolicy(RetryPolicy{Attempts: -1})); !errors.Is(err, ErrConfig) {
		t.Errorf("negative attempts: %v", err)
	}
	if _, err := NewConsumer("g", WithBootstrapServers("b:1"), WithRetryPolicy(RetryPolicy{BaseDelay: time.Second, MaxDelay: time.Millisecond})); !errors.Is(err, ErrConfig) {
		t.Errorf("base delay > max: %v", err)
	}
}

// The SASL tests need the broker of `scripts/kafka start --sasl`: its
// environment logs in as the super user admin, and alice exists without ACLs.
func requireSASLBroker(t *testing.T) {
	t.Helper()
	requireKafka(t)
	if !strings.HasPrefix(os.Getenv(EnvSecurityProtocol), "SASL_") || os.Getenv(EnvSASLUsername) != "admin" {
		t.Skip("needs the broker of scripts/kafka start --sasl")
	}
}

func TestWrongPasswordFailsAtConstruction(t *testing.T) {
	requireSASLBroker(t)
	start := time.Now()
	_, err := NewProducer(WithSASL(os.Getenv(EnvSASLMechanism), "admin", "wrong-password"), WithConnectTimeout(5*time.Second))
	t.Logf("after %s: %v", time.Since(start).Round(time.Millisecond), err)
	if ErrorKind(err) != "ConnectionError" || !strings.Contains(err.Error(), "cannot connect to Kafka") || !strings.Contains(err.Error(), "SASL_AUTHENTICATION_FAILED") {
		t.Fatalf("err %v", err)
	}
}

func TestMissingACLsFailClearly(t *testing.T) {
	requireSASLBroker(t)
	topic := structTestTopic(t, 1)
	ctx := testContext(t)
	alice := WithSASL(os.Getenv(EnvSASLMechanism), "alice", "alice-secret")

	producer := newTestProducer(t, alice)
	start := time.Now()
	err := Send(ctx, producer, topic, event(t, 1, "z", nil))
	t.Logf("Send after %s: %v", time.Since(start).Round(time.Millisecond), err)
	if err == nil || !strings.Contains(err.Error(), "TOPIC_AUTHORIZATION_FAILED") {
		t.Fatalf("Send without ACLs: %v", err)
	}

	// With read access to the topics but not to the group, Consume stops
	// with the group's authorization error instead of waiting forever.
	admin := kadm.NewClient(rawClient(t))
	acl := kadm.NewACLs().Allow("User:alice").AllowHosts().Topics(topic.Name, topic.DLQName()).
		Operations(kadm.OpRead, kadm.OpDescribe, kadm.OpWrite).ResourcePatternType(kadm.ACLPatternLiteral)
	if _, err := admin.CreateACLs(ctx, acl); err != nil {
		t.Fatal(err)
	}
	consumer := newTestConsumer(t, alice)
	start = time.Now()
	err = Consume(ctx, consumer, topic, func(context.Context, *structpb.Struct, Metadata) error { return nil })
	t.Logf("Consume after %s: %v", time.Since(start).Round(time.Millisecond), err)
	if err == nil || !strings.Contains(err.Error(), "GROUP_AUTHORIZATION_FAILED") {
		t.Fatalf("Consume without a group ACL: %v", err)
	}
}
