//! Client configuration: from the environment, plus the runtime's defaults.

use rdkafka::ClientConfig;

use super::Error;

pub const BOOTSTRAP_SERVERS: &str = "KAFKA_BOOTSTRAP_SERVERS";
pub const SECURITY_PROTOCOL: &str = "KAFKA_SECURITY_PROTOCOL";
pub const SASL_MECHANISM: &str = "KAFKA_SASL_MECHANISM";
pub const SASL_USERNAME: &str = "KAFKA_SASL_USERNAME";
pub const SASL_PASSWORD: &str = "KAFKA_SASL_PASSWORD";
pub const SSL_CA_LOCATION: &str = "KAFKA_SSL_CA_LOCATION";
pub const SSL_CERTIFICATE_LOCATION: &str = "KAFKA_SSL_CERTIFICATE_LOCATION";
pub const SSL_KEY_LOCATION: &str = "KAFKA_SSL_KEY_LOCATION";
pub const SSL_KEY_PASSWORD: &str = "KAFKA_SSL_KEY_PASSWORD";

/// The TLS variables and the librdkafka property each sets.
const SSL_VARIABLES: [(&str, &str); 4] = [
    (SSL_CA_LOCATION, "ssl.ca.location"),
    (SSL_CERTIFICATE_LOCATION, "ssl.certificate.location"),
    (SSL_KEY_LOCATION, "ssl.key.location"),
    (SSL_KEY_PASSWORD, "ssl.key.password"),
];

const PROTOCOLS: [&str; 4] = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];
// GSSAPI needs Cyrus SASL and OAUTHBEARER a token provider: neither is built in.
const MECHANISMS: [&str; 3] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

/// Producer settings applied unless the caller's config sets them: no
/// duplicates or reordering on retry, every in-sync replica acknowledges, and
/// keys hashed with murmur2 like Kafka's Java client and the Go runtime, so a
/// key lands on the same partition whichever language wrote it.
pub(crate) const PRODUCER_DEFAULTS: [(&str, &str); 5] = [
    ("enable.idempotence", "true"),
    ("acks", "all"),
    ("compression.type", "lz4"),
    ("linger.ms", "5"),
    ("partitioner", "murmur2_random"),
];

/// Consumer settings applied unless the caller's config sets them.
pub(crate) const CONSUMER_DEFAULTS: [(&str, &str); 1] = [("auto.offset.reset", "earliest")];

/// Consumer settings always applied: at-least-once means an offset is stored
/// only once its record is handled or dead-lettered, then committed in the
/// background.
pub(crate) const CONSUMER_ENFORCED: [(&str, &str); 2] =
    [("enable.auto.offset.store", "false"), ("enable.auto.commit", "true")];

/// Consumer-only properties, removed from the config that the consumer's
/// dead-letter producer is made from (librdkafka warns about each).
const CONSUMER_ONLY: [&str; 12] = [
    "group.id",
    "group.instance.id",
    "enable.auto.offset.store",
    "enable.auto.commit",
    "auto.commit.interval.ms",
    "auto.offset.reset",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "max.poll.interval.ms",
    "partition.assignment.strategy",
    "isolation.level",
    "enable.partition.eof",
];

/// A client config from `KAFKA_BOOTSTRAP_SERVERS` (required),
/// `KAFKA_SECURITY_PROTOCOL`, `KAFKA_SASL_MECHANISM` (`PLAIN` when the
/// protocol is `SASL_*`), `KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD`,
/// `KAFKA_SSL_CA_LOCATION`, `KAFKA_SSL_CERTIFICATE_LOCATION`,
/// `KAFKA_SSL_KEY_LOCATION` and `KAFKA_SSL_KEY_PASSWORD` (`docs/runtime.md`,
/// "Connecting"). Empty counts as unset.
pub fn config_from_env() -> Result<ClientConfig, Error> {
    config_from_lookup(|name| std::env::var(name).ok())
}

pub(crate) fn config_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<ClientConfig, Error> {
    let var = |name: &str| lookup(name).map(|value| value.trim().to_owned()).filter(|value| !value.is_empty());
    let bootstrap = var(BOOTSTRAP_SERVERS).ok_or_else(|| {
        Error::Config(format!(
            "{BOOTSTRAP_SERVERS} is not set: set it to the brokers' host:port list, e.g. 127.0.0.1:9092"
        ))
    })?;
    let protocol = var(SECURITY_PROTOCOL).map_or_else(|| "PLAINTEXT".to_owned(), |value| value.to_ascii_uppercase());
    if !PROTOCOLS.contains(&protocol.as_str()) {
        return Err(Error::Config(format!("{SECURITY_PROTOCOL}={protocol:?} is not one of {}", PROTOCOLS.join(", "))));
    }
    let uses_sasl = protocol.starts_with("SASL_");
    let uses_ssl = protocol.ends_with("SSL");

    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap).set("security.protocol", protocol.as_str());

    if uses_sasl {
        // PLAIN unless told otherwise, as every runtime does.
        let mechanism = var(SASL_MECHANISM).map_or_else(|| "PLAIN".to_owned(), |value| value.to_ascii_uppercase());
        if !MECHANISMS.contains(&mechanism.as_str()) {
            return Err(Error::Config(format!(
                "{SASL_MECHANISM}={mechanism:?} is not one of {}",
                MECHANISMS.join(", ")
            )));
        }
        let (Some(username), Some(password)) = (var(SASL_USERNAME), var(SASL_PASSWORD)) else {
            return Err(Error::Config(format!(
                "{SECURITY_PROTOCOL}={protocol} needs {SASL_USERNAME} and {SASL_PASSWORD} (SASL {mechanism})"
            )));
        };
        config.set("sasl.mechanism", mechanism).set("sasl.username", username).set("sasl.password", password);
    } else if let Some(name) =
        [SASL_MECHANISM, SASL_USERNAME, SASL_PASSWORD].into_iter().find(|name| var(name).is_some())
    {
        return Err(Error::Config(format!(
            "{name} is set but {SECURITY_PROTOCOL}={protocol}: use SASL_PLAINTEXT or SASL_SSL, or unset {name}"
        )));
    }
    for (name, property) in SSL_VARIABLES {
        let Some(value) = var(name) else { continue };
        if !uses_ssl {
            return Err(Error::Config(format!(
                "{name} is set but {SECURITY_PROTOCOL}={protocol}: use SSL or SASL_SSL, or unset {name}"
            )));
        }
        config.set(property, value);
    }
    if var(SSL_CERTIFICATE_LOCATION).is_some() != var(SSL_KEY_LOCATION).is_some() {
        return Err(Error::Config(format!(
            "mutual TLS needs both {SSL_CERTIFICATE_LOCATION} and {SSL_KEY_LOCATION}, or neither"
        )));
    }
    Ok(config)
}

/// `config` plus each default it does not set.
pub(crate) fn with_defaults(config: &ClientConfig, defaults: &[(&str, &str)]) -> ClientConfig {
    let mut config = config.clone();
    for (key, value) in defaults {
        if config.get(key).is_none() {
            config.set(*key, *value);
        }
    }
    config
}

/// The consumer's config: the caller's, the group, the defaults, the enforced settings.
pub(crate) fn consumer_config(config: &ClientConfig, group_id: &str) -> ClientConfig {
    let mut config = with_defaults(config, &CONSUMER_DEFAULTS);
    config.set("group.id", group_id);
    for (key, value) in CONSUMER_ENFORCED {
        config.set(key, value);
    }
    config
}

/// The config of a consumer's dead-letter producer: the caller's less its
/// consumer-only settings, plus the producer defaults.
pub(crate) fn dead_letter_producer_config(config: &ClientConfig) -> ClientConfig {
    let mut config = config.clone();
    for key in CONSUMER_ONLY {
        config.remove(key);
    }
    with_defaults(&config, &PRODUCER_DEFAULTS)
}

/// `bootstrap.servers` for messages, `?` if unset.
pub(crate) fn bootstrap_of(config: &ClientConfig) -> String {
    config.get("bootstrap.servers").unwrap_or("?").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<ClientConfig, Error> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        config_from_lookup(|name| vars.get(name).cloned())
    }

    fn error_of(vars: &[(&str, &str)]) -> String {
        from(vars).expect_err("config should be rejected").to_string()
    }

    #[test]
    fn bootstrap_alone_is_plaintext() {
        let config = from(&[(BOOTSTRAP_SERVERS, "127.0.0.1:9092")]).unwrap();
        assert_eq!(config.get("bootstrap.servers"), Some("127.0.0.1:9092"));
        assert_eq!(config.get("security.protocol"), Some("PLAINTEXT"));
        assert_eq!(config.get("sasl.mechanism"), None);
    }

    #[test]
    fn missing_bootstrap_names_the_variable() {
        assert!(error_of(&[]).contains("KAFKA_BOOTSTRAP_SERVERS is not set"));
        assert!(error_of(&[(BOOTSTRAP_SERVERS, " ")]).contains("KAFKA_BOOTSTRAP_SERVERS is not set"));
    }

    #[test]
    fn sasl_ssl_sets_everything() {
        let config = from(&[
            (BOOTSTRAP_SERVERS, "kafka:9093"),
            (SECURITY_PROTOCOL, "sasl_ssl"),
            (SASL_MECHANISM, "scram-sha-512"),
            (SASL_USERNAME, "alice"),
            (SASL_PASSWORD, "secret"),
            (SSL_CA_LOCATION, "/etc/ca.pem"),
        ])
        .unwrap();
        assert_eq!(config.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(config.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(config.get("sasl.username"), Some("alice"));
        assert_eq!(config.get("sasl.password"), Some("secret"));
        assert_eq!(config.get("ssl.ca.location"), Some("/etc/ca.pem"));
    }

    #[test]
    fn sasl_defaults_to_plain() {
        let config = from(&[
            (BOOTSTRAP_SERVERS, "kafka:9092"),
            (SECURITY_PROTOCOL, "SASL_PLAINTEXT"),
            (SASL_USERNAME, "alice"),
            (SASL_PASSWORD, "alice-secret"),
        ])
        .unwrap();
        assert_eq!(config.get("sasl.mechanism"), Some("PLAIN"));
    }

    #[test]
    fn mutual_tls_sets_certificate_key_and_password() {
        let config = from(&[
            (BOOTSTRAP_SERVERS, "kafka:9093"),
            (SECURITY_PROTOCOL, "SSL"),
            (SSL_CA_LOCATION, "/ca.pem"),
            (SSL_CERTIFICATE_LOCATION, "/client.pem"),
            (SSL_KEY_LOCATION, "/client.key"),
            (SSL_KEY_PASSWORD, "key-secret"),
        ])
        .unwrap();
        assert_eq!(config.get("ssl.certificate.location"), Some("/client.pem"));
        assert_eq!(config.get("ssl.key.location"), Some("/client.key"));
        assert_eq!(config.get("ssl.key.password"), Some("key-secret"));
        let half = [(BOOTSTRAP_SERVERS, "k:1"), (SECURITY_PROTOCOL, "SSL"), (SSL_CERTIFICATE_LOCATION, "/c.pem")];
        assert!(error_of(&half).contains("needs both KAFKA_SSL_CERTIFICATE_LOCATION and KAFKA_SSL_KEY_LOCATION"));
    }

    #[test]
    fn inconsistent_security_settings_are_rejected() {
        let bootstrap = (BOOTSTRAP_SERVERS, "kafka:9092");
        assert!(error_of(&[bootstrap, (SECURITY_PROTOCOL, "TLS")])
            .contains("KAFKA_SECURITY_PROTOCOL=\"TLS\" is not one of"));
        assert!(error_of(&[bootstrap, (SECURITY_PROTOCOL, "SASL_PLAINTEXT")])
            .contains("needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (SASL PLAIN)"));
        assert!(error_of(&[bootstrap, (SECURITY_PROTOCOL, "SASL_SSL"), (SASL_USERNAME, "alice")])
            .contains("needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"));
        assert!(error_of(&[bootstrap, (SECURITY_PROTOCOL, "SASL_PLAINTEXT"), (SASL_MECHANISM, "GSSAPI")])
            .contains("KAFKA_SASL_MECHANISM=\"GSSAPI\" is not one of"));
        assert!(error_of(&[bootstrap, (SECURITY_PROTOCOL, "SASL_PLAINTEXT"), (SASL_MECHANISM, "PLAIN")])
            .contains("needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"));
        assert!(error_of(&[bootstrap, (SASL_USERNAME, "alice")]).contains("KAFKA_SASL_USERNAME is set but"));
        assert!(error_of(&[bootstrap, (SSL_CA_LOCATION, "/ca.pem")]).contains("KAFKA_SSL_CA_LOCATION is set but"));
        assert!(error_of(&[bootstrap, (SSL_KEY_PASSWORD, "x")]).contains("KAFKA_SSL_KEY_PASSWORD is set but"));
    }

    #[test]
    fn defaults_do_not_override_the_caller() {
        let mut caller = ClientConfig::new();
        caller.set("acks", "1");
        let config = with_defaults(&caller, &PRODUCER_DEFAULTS);
        assert_eq!(config.get("acks"), Some("1"));
        assert_eq!(config.get("enable.idempotence"), Some("true"));
        assert_eq!(config.get("compression.type"), Some("lz4"));
        assert_eq!(config.get("linger.ms"), Some("5"));
    }

    #[test]
    fn consumer_settings_keep_at_least_once() {
        let mut caller = ClientConfig::new();
        caller.set("enable.auto.offset.store", "true").set("auto.offset.reset", "latest");
        let config = consumer_config(&caller, "svc-search");
        assert_eq!(config.get("group.id"), Some("svc-search"));
        assert_eq!(config.get("enable.auto.offset.store"), Some("false"));
        assert_eq!(config.get("enable.auto.commit"), Some("true"));
        assert_eq!(config.get("auto.offset.reset"), Some("latest"));

        let producer = dead_letter_producer_config(&config);
        assert_eq!(producer.get("group.id"), None);
        assert_eq!(producer.get("auto.offset.reset"), None);
        assert_eq!(producer.get("acks"), Some("all"));
    }
}
