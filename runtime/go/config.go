package contracts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
)

// Environment variables read when the matching option is not given.
const (
	EnvBootstrapServers = "KAFKA_BOOTSTRAP_SERVERS"
	EnvSecurityProtocol = "KAFKA_SECURITY_PROTOCOL"
	EnvSASLMechanism    = "KAFKA_SASL_MECHANISM"
	EnvSASLUsername     = "KAFKA_SASL_USERNAME"
	EnvSASLPassword     = "KAFKA_SASL_PASSWORD"
	EnvSSLCALocation    = "KAFKA_SSL_CA_LOCATION"
	EnvSSLCertLocation  = "KAFKA_SSL_CERTIFICATE_LOCATION"
	EnvSSLKeyLocation   = "KAFKA_SSL_KEY_LOCATION"
	EnvSSLKeyPassword   = "KAFKA_SSL_KEY_PASSWORD"
)

// DefaultConnectTimeout bounds the broker and topic checks done when a
// Producer or Consumer is created, so bad settings fail fast and clearly.
const DefaultConnectTimeout = 10 * time.Second

// ProducerOption configures a Producer.
type ProducerOption interface{ applyProducer(*producerConfig) }

// ConsumerOption configures a Consumer.
type ConsumerOption interface{ applyConsumer(*consumerConfig) }

// Option configures the connection of a Producer or a Consumer.
type Option interface {
	ProducerOption
	ConsumerOption
}

type clientOption func(*clientConfig)

func (o clientOption) applyProducer(c *producerConfig) { o(&c.client) }
func (o clientOption) applyConsumer(c *consumerConfig) { o(&c.client) }

// clientConfig holds the connection settings shared by producers and
// consumers; empty fields are filled from the environment.
type clientConfig struct {
	bootstrapServers []string
	securityProtocol string
	saslMechanism    string
	saslUsername     string
	saslPassword     string
	caLocation       string
	certLocation     string
	keyLocation      string
	keyPassword      string
	tlsConfig        *tls.Config
	clientID         string
	connectTimeout   time.Duration
	requiredTopics   []string
	logger           *slog.Logger
	kgoOptions       []kgo.Opt
	registerer       prometheus.Registerer
	tracerProvider   trace.TracerProvider
}

// WithBootstrapServers sets the seed brokers ("host:port"), overriding
// KAFKA_BOOTSTRAP_SERVERS.
func WithBootstrapServers(servers ...string) Option {
	return clientOption(func(c *clientConfig) { c.bootstrapServers = servers })
}

// WithSecurityProtocol sets PLAINTEXT, SASL_PLAINTEXT, SSL or SASL_SSL,
// overriding KAFKA_SECURITY_PROTOCOL. The default is PLAINTEXT.
func WithSecurityProtocol(protocol string) Option {
	return clientOption(func(c *clientConfig) { c.securityProtocol = protocol })
}

// WithSASL sets the SASL mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)
// and credentials, overriding the KAFKA_SASL_* variables.
func WithSASL(mechanism, username, password string) Option {
	return clientOption(func(c *clientConfig) {
		c.saslMechanism, c.saslUsername, c.saslPassword = mechanism, username, password
	})
}

// WithCALocation sets a PEM file of CA certificates to verify the brokers
// with, overriding KAFKA_SSL_CA_LOCATION. Without one the system roots are used.
func WithCALocation(path string) Option {
	return clientOption(func(c *clientConfig) { c.caLocation = path })
}

// WithClientCertificate sets the PEM client certificate and key for mutual
// TLS, and the key's password when it is encrypted (legacy PEM encryption,
// "Proc-Type: 4,ENCRYPTED"), overriding KAFKA_SSL_CERTIFICATE_LOCATION,
// KAFKA_SSL_KEY_LOCATION and KAFKA_SSL_KEY_PASSWORD.
func WithClientCertificate(certPath, keyPath, keyPassword string) Option {
	return clientOption(func(c *clientConfig) {
		c.certLocation, c.keyLocation, c.keyPassword = certPath, keyPath, keyPassword
	})
}

// WithRegisterer sets where the runtime registers its Prometheus metrics;
// the default is prometheus.DefaultRegisterer. Clients given the same
// registerer share the same series.
func WithRegisterer(registerer prometheus.Registerer) Option {
	return clientOption(func(c *clientConfig) { c.registerer = registerer })
}

// WithTracerProvider sets the OpenTelemetry tracer provider of the send and
// process spans; the default is otel.GetTracerProvider(), which creates no
// spans until the application installs a provider.
func WithTracerProvider(provider trace.TracerProvider) Option {
	return clientOption(func(c *clientConfig) { c.tracerProvider = provider })
}

// WithTLSConfig sets the TLS configuration used by SSL and SASL_SSL, for
// settings the environment cannot express (client certificates, ...).
func WithTLSConfig(cfg *tls.Config) Option {
	return clientOption(func(c *clientConfig) { c.tlsConfig = cfg })
}

// WithClientID sets the Kafka client id the brokers see in logs and quotas.
func WithClientID(id string) Option {
	return clientOption(func(c *clientConfig) { c.clientID = id })
}

// WithConnectTimeout bounds the checks made at construction (broker
// reachable, required topics present), overriding DefaultConnectTimeout.
func WithConnectTimeout(d time.Duration) Option {
	return clientOption(func(c *clientConfig) { c.connectTimeout = d })
}

// WithRequiredTopics makes construction fail unless these topics exist.
func WithRequiredTopics(names ...string) Option {
	return clientOption(func(c *clientConfig) { c.requiredTopics = append(c.requiredTopics, names...) })
}

// WithLogger sets where the runtime logs dead-lettered records and retries;
// the default is slog.Default().
func WithLogger(logger *slog.Logger) Option {
	return clientOption(func(c *clientConfig) { c.logger = logger })
}

// WithKgoOptions appends raw franz-go options after the runtime's own, for
// tuning what this package does not expose. Options that change the group's
// commit behaviour break the consumer's at-least-once guarantee.
func WithKgoOptions(opts ...kgo.Opt) Option {
	return clientOption(func(c *clientConfig) { c.kgoOptions = append(c.kgoOptions, opts...) })
}

// resolve fills unset fields from the environment and defaults, and checks them.
func (c *clientConfig) resolve(getenv func(string) string) error {
	if len(c.bootstrapServers) == 0 {
		for _, s := range strings.Split(getenv(EnvBootstrapServers), ",") {
			if s = strings.TrimSpace(s); s != "" {
				c.bootstrapServers = append(c.bootstrapServers, s)
			}
		}
	}
	if len(c.bootstrapServers) == 0 {
		return configError("no bootstrap servers: set %s (e.g. 127.0.0.1:9092) or use WithBootstrapServers", EnvBootstrapServers)
	}
	fill := func(field *string, env string) {
		if *field == "" {
			*field = strings.TrimSpace(getenv(env))
		}
	}
	fill(&c.securityProtocol, EnvSecurityProtocol)
	fill(&c.saslMechanism, EnvSASLMechanism)
	fill(&c.saslUsername, EnvSASLUsername)
	fill(&c.saslPassword, EnvSASLPassword)
	fill(&c.caLocation, EnvSSLCALocation)
	fill(&c.certLocation, EnvSSLCertLocation)
	fill(&c.keyLocation, EnvSSLKeyLocation)
	if c.keyPassword == "" {
		c.keyPassword = getenv(EnvSSLKeyPassword) // a password may have spaces at its ends
	}
	c.securityProtocol = strings.ToUpper(c.securityProtocol)
	if c.securityProtocol == "" {
		c.securityProtocol = "PLAINTEXT"
	}
	c.saslMechanism = strings.ToUpper(c.saslMechanism)
	if c.connectTimeout <= 0 {
		c.connectTimeout = DefaultConnectTimeout
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	if c.registerer == nil {
		c.registerer = prometheus.DefaultRegisterer
	}
	if c.tracerProvider == nil {
		c.tracerProvider = otel.GetTracerProvider()
	}
	if (c.certLocation == "") != (c.keyLocation == "") {
		return configError("a client certificate needs both %s and %s", EnvSSLCertLocation, EnvSSLKeyLocation)
	}
	switch c.securityProtocol {
	case "PLAINTEXT", "SSL":
		if c.saslUsername != "" || c.saslMechanism != "" {
			return configError("SASL settings are given but %s is %s: use SASL_PLAINTEXT or SASL_SSL", EnvSecurityProtocol, c.securityProtocol)
		}
	case "SASL_PLAINTEXT", "SASL_SSL":
		if c.saslMechanism == "" {
			c.saslMechanism = "PLAIN"
		}
		if c.saslUsername == "" || c.saslPassword == "" {
			return configError("%s is %s but the SASL user or password is missing: set %s and %s", EnvSecurityProtocol, c.securityProtocol, EnvSASLUsername, EnvSASLPassword)
		}
	default:
		return configError("%s is %q: use PLAINTEXT, SASL_PLAINTEXT, SSL or SASL_SSL", EnvSecurityProtocol, c.securityProtocol)
	}
	return nil
}

// kgoOptions turns the resolved settings into franz-go options.
func (c *clientConfig) connectionOptions() ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(c.bootstrapServers...)}
	if c.clientID != "" {
		opts = append(opts, kgo.ClientID(c.clientID))
	}
	if c.securityProtocol == "SSL" || c.securityProtocol == "SASL_SSL" {
		tlsConfig, err := c.buildTLSConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tlsConfig))
	}
	if strings.HasPrefix(c.securityProtocol, "SASL_") {
		switch c.saslMechanism {
		case "PLAIN":
			opts = append(opts, kgo.SASL(plain.Auth{User: c.saslUsername, Pass: c.saslPassword}.AsMechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: c.saslUsername, Pass: c.saslPassword}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(scram.Auth{User: c.saslUsername, Pass: c.saslPassword}.AsSha512Mechanism()))
		default:
			return nil, configError("%s is %q: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", EnvSASLMechanism, c.saslMechanism)
		}
	}
	return opts, nil
}

func (c *clientConfig) buildTLSConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.tlsConfig != nil {
		cfg = c.tlsConfig.Clone()
	}
	if c.caLocation != "" {
		pem, err := os.ReadFile(c.caLocation)
		if err != nil {
			return nil, configError("cannot read %s %s: %v", EnvSSLCALocation, c.caLocation, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, configError("%s %s holds no PEM certificate", EnvSSLCALocation, c.caLocation)
		}
		cfg.RootCAs = pool
	}
	if c.certLocation != "" {
		cert, err := loadClientCertificate(c.certLocation, c.keyLocation, c.keyPassword)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// loadClientCertificate reads a PEM certificate (chain) and its key,
// decrypting a key protected with legacy PEM encryption when a password is
// given. Go's standard library cannot decrypt encrypted PKCS#8 keys
// ("ENCRYPTED PRIVATE KEY"): those are reported with the command that
// converts them.
func loadClientCertificate(certPath, keyPath, password string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return tls.Certificate{}, configError("cannot read %s %s: %v", EnvSSLCertLocation, certPath, err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return tls.Certificate{}, configError("cannot read %s %s: %v", EnvSSLKeyLocation, keyPath, err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return tls.Certificate{}, configError("%s %s holds no PEM key", EnvSSLKeyLocation, keyPath)
	}
	switch {
	case block.Type == "ENCRYPTED PRIVATE KEY":
		return tls.Certificate{}, configError("%s %s is an encrypted PKCS#8 key, which Go cannot decrypt: "+
			"convert it with `openssl pkcs8 -in %s -out key.pem` (or `openssl rsa -aes256`) first", EnvSSLKeyLocation, keyPath, keyPath)
	//nolint:staticcheck // legacy PEM encryption is what librdkafka's ssl.key.password also reads
	case x509.IsEncryptedPEMBlock(block):
		if password == "" {
			return tls.Certificate{}, configError("%s %s is encrypted: set %s", EnvSSLKeyLocation, keyPath, EnvSSLKeyPassword)
		}
		der, err := x509.DecryptPEMBlock(block, []byte(password)) //nolint:staticcheck // see above
		if err != nil {
			return tls.Certificate{}, configError("cannot decrypt %s %s with %s: %v", EnvSSLKeyLocation, keyPath, EnvSSLKeyPassword, err)
		}
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: der})
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, configError("client certificate %s and key %s: %v", certPath, keyPath, err)
	}
	return cert, nil
}

// checkConnection pings the cluster and checks the required topics, all
// within the connect timeout, so that a wrong address, wrong credentials or
// a missing topic fail at construction with a message that says which.
func (c *clientConfig) checkConnection(client *kgo.Client, topics ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.connectTimeout)
	defer cancel()
	if err := client.Ping(ctx); err != nil {
		// "within" only when the bound ran out: a refusal is reported as soon as it comes.
		when := ""
		if ctx.Err() != nil {
			when = fmt.Sprintf(" within %s", c.connectTimeout)
		}
		return &ConnectionError{
			Message: fmt.Sprintf("contracts: cannot connect to Kafka at %s (%s)%s: %v",
				strings.Join(c.bootstrapServers, ","), c.securityProtocol, when, err),
			Err: err,
		}
	}
	return c.checkTopics(ctx, client, append(append([]string{}, c.requiredTopics...), topics...)...)
}

func (c *clientConfig) checkTopics(ctx context.Context, client *kgo.Client, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	states, err := describeTopics(ctx, client, names)
	if err != nil {
		return &ConnectionError{
			Message: fmt.Sprintf("contracts: cannot read metadata of topics %s from %s: %v", strings.Join(names, ", "), c.where(), err),
			Err:     err,
		}
	}
	var errs []error
	for _, name := range names {
		switch err := states[name]; {
		case errors.Is(err, kerr.UnknownTopicOrPartition):
			errs = append(errs, &ConfigError{
				Message: fmt.Sprintf("%v: %q does not exist on %s (topics are not auto-created: create it from the registry first)",
					ErrTopicNotFound, name, c.where()),
				Err: ErrTopicNotFound,
			})
		case err != nil:
			errs = append(errs, &ConfigError{Message: fmt.Sprintf("contracts: topic %q: %v", name, err), Err: err})
		}
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// where names the cluster in messages.
func (c *clientConfig) where() string {
	if len(c.bootstrapServers) == 0 {
		return "the cluster"
	}
	return strings.Join(c.bootstrapServers, ",")
}

// describeTopics asks the cluster (not the client's metadata cache, which may
// be seconds old) about the topics: nil for a topic that exists and has a
// leader for every partition, otherwise why not.
func describeTopics(ctx context.Context, client *kgo.Client, names []string) (map[string]error, error) {
	req := kmsg.NewPtrMetadataRequest()
	for _, name := range names {
		topic := kmsg.NewMetadataRequestTopic()
		topic.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, topic)
	}
	resp, err := req.RequestWith(ctx, client)
	if err != nil {
		return nil, err
	}
	states := make(map[string]error, len(names))
	for _, name := range names {
		states[name] = kerr.UnknownTopicOrPartition
	}
	for _, topic := range resp.Topics {
		if topic.Topic == nil {
			continue
		}
		err := kerr.ErrorForCode(topic.ErrorCode)
		if err == nil && len(topic.Partitions) == 0 {
			err = kerr.LeaderNotAvailable
		}
		for _, partition := range topic.Partitions {
			if err == nil {
				err = kerr.ErrorForCode(partition.ErrorCode)
			}
			if err == nil && partition.Leader < 0 {
				err = kerr.LeaderNotAvailable
			}
		}
		states[*topic.Topic] = err
	}
	return states, nil
}

// newClient builds a franz-go client from resolved settings plus role
// options, then verifies the connection.
func (c *clientConfig) newClient(roleOptions []kgo.Opt, topics ...string) (*kgo.Client, error) {
	opts, err := c.connectionOptions()
	if err != nil {
		return nil, err
	}
	opts = append(opts, roleOptions...)
	opts = append(opts, c.kgoOptions...)
	client, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, &ConfigError{Message: fmt.Sprintf("contracts: invalid client options: %v", err), Err: err}
	}
	if err := c.checkConnection(client, topics...); err != nil {
		client.Close()
		return nil, err
	}
	return client, nil
}
