//! The Rust side of the golden vectors (tests/vectors/README.md).
//!
//! ```text
//! golden-vectors write OUT.jsonl     the catalog, built with the generated crate
//! golden-vectors check IN.jsonl...   read the other languages' vectors
//! ```
//!
//! `check` prints one JSON line per vector, `{"writer", "reader", "id", "failures"}`,
//! and exits 1 when any vector failed; the failures go to stderr too.

mod catalog;
mod dump;
mod wire;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use prost::Message;
use registry_contracts::runtime::{ContractError, EncodeOptions, Header, Topic};
use registry_contracts::topics::{AUDIT_EVENTS_V1, EMAIL_DISPATCH_V1, MARKETING_AUDIENCE_V1, PREFERENCES_CHANGED_V1};
use serde_json::{json, Value as Json};

use catalog::Built;
use dump::{field_dump, hex, Dump, Fields};

/// The ce_time every writer stamps: 2026-11-25T00:48:20.123Z.
const EVENT_TIME_MS: u64 = 1_795_567_700_123;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.split_first() {
        Some((command, rest)) if command == "write" && rest.len() == 1 => write_all(&rest[0]).map(|()| false),
        Some((command, rest)) if command == "check" && !rest.is_empty() => check_all(rest),
        _ => {
            eprintln!("usage: golden-vectors write OUT.jsonl | check IN.jsonl...");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(1),
        Err(error) => {
            eprintln!("golden-vectors: {error}");
            ExitCode::from(2)
        }
    }
}

fn write_all(path: &str) -> Result<(), String> {
    let mut text = String::new();
    for (id, built) in catalog::catalog() {
        let vector = match &built {
            Built::Audit(message) => write_vector(&AUDIT_EVENTS_V1, id, message),
            Built::Email(message) => write_vector(&EMAIL_DISPATCH_V1, id, message),
            Built::Marketing(message) => write_vector(&MARKETING_AUDIENCE_V1, id, message),
            Built::Preferences(message) => write_vector(&PREFERENCES_CHANGED_V1, id, message),
        };
        text.push_str(&vector.to_string());
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|error| format!("{path}: {error}"))
}

fn envelope_options(envelope: &Json) -> Result<EncodeOptions<'_>, String> {
    let time_ms = envelope["time_ms"].as_u64().ok_or("envelope.time_ms is not a number")?;
    Ok(EncodeOptions {
        id: envelope["id"].as_str(),
        source: envelope["source"].as_str(),
        time: Some(UNIX_EPOCH + Duration::from_millis(time_ms)),
    })
}

fn write_vector<T: Message + Default + Dump>(topic: &Topic<T>, id: &str, message: &T) -> Json {
    let envelope = json!({"id": format!("golden-{id}"), "source": "contracts", "time_ms": EVENT_TIME_MS});
    let record = topic.encode_with(message, envelope_options(&envelope).expect("a well-formed envelope"));
    json!({
        "id": id,
        "writer": "rust",
        "type": topic.type_name(),
        "topic": topic.name(),
        "value": hex(&message.encode_to_vec()),
        "fields": field_dump(message),
        "json": null,
        "record": {
            "key": record.key.as_deref().map(hex),
            "value": hex(&record.value),
            "headers": headers_json(&record.headers),
        },
        "envelope": envelope,
    })
}

fn headers_json(headers: &[Header]) -> Vec<(String, String)> {
    headers.iter().map(|header| (header.key.clone(), String::from_utf8_lossy(&header.value).into_owned())).collect()
}

fn check_all(paths: &[String]) -> Result<bool, String> {
    let mut failed = false;
    for path in paths {
        let text = std::fs::read_to_string(path).map_err(|error| format!("{path}: {error}"))?;
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let vector: Json = serde_json::from_str(line).map_err(|error| format!("{path}: {error}"))?;
            let failures = match vector["type"].as_str().unwrap_or_default() {
                "audit.v1.AuditEvent" => {
                    check_vector(&AUDIT_EVENTS_V1, &vector, |v, h| EMAIL_DISPATCH_V1.decode(v, h).map(drop))
                }
                "email.v1.EmailMessage" => {
                    check_vector(&EMAIL_DISPATCH_V1, &vector, |v, h| MARKETING_AUDIENCE_V1.decode(v, h).map(drop))
                }
                "marketing.v1.AudienceMember" => {
                    check_vector(&MARKETING_AUDIENCE_V1, &vector, |v, h| PREFERENCES_CHANGED_V1.decode(v, h).map(drop))
                }
                "preferences.v1.PreferenceChanged" => {
                    check_vector(&PREFERENCES_CHANGED_V1, &vector, |v, h| AUDIT_EVENTS_V1.decode(v, h).map(drop))
                }
                other => vec![format!("type {other} is not bound to any topic")],
            };
            let (writer, id) = (vector["writer"].as_str().unwrap_or("?"), vector["id"].as_str().unwrap_or("?"));
            for failure in &failures {
                eprintln!("FAIL {writer} -> rust, {id}: {failure}");
            }
            failed |= !failures.is_empty();
            println!("{}", json!({"writer": writer, "reader": "rust", "id": id, "failures": failures}));
        }
    }
    Ok(failed)
}

/// Everything that differs between what the writer recorded and what Rust reads.
fn check_vector<T: Message + Default + Dump>(
    topic: &Topic<T>,
    vector: &Json,
    decode_other: impl Fn(Option<&[u8]>, &[Header]) -> Result<(), ContractError>,
) -> Vec<String> {
    match try_check_vector(topic, vector, decode_other) {
        Ok(failures) => failures,
        Err(failure) => vec![failure],
    }
}

fn try_check_vector<T: Message + Default + Dump>(
    topic: &Topic<T>,
    vector: &Json,
    decode_other: impl Fn(Option<&[u8]>, &[Header]) -> Result<(), ContractError>,
) -> Result<Vec<String>, String> {
    let claimed = vector["topic"].as_str().unwrap_or_default();
    if topic.name() != claimed {
        return Err(format!("type {} is bound to {}, the writer says {claimed}", topic.type_name(), topic.name()));
    }
    let expected = fields_of(&vector["fields"])?;
    let value = unhex(&vector["value"])?;
    let message = T::decode(value.as_slice()).map_err(|error| format!("value does not decode: {error}"))?;
    let mut failures = fields_diff("decoded value", &expected, &field_dump(&message));
    failures.extend(wire::bytes_diff("re-encoded value", &value, &message.encode_to_vec()));

    let record = &vector["record"];
    let headers: Vec<Header> = record["headers"]
        .as_array()
        .ok_or("record.headers is not a list")?
        .iter()
        .map(|pair| Header::new(pair[0].as_str().unwrap_or_default(), pair[1].as_str().unwrap_or_default()))
        .collect();
    let record_value = unhex(&record["value"])?;
    match topic.decode(Some(&record_value), &headers) {
        Ok(from_record) => failures.extend(fields_diff("record value", &expected, &field_dump(&from_record))),
        Err(error) => failures.push(format!("Topic.decode of the writer's record fails: {error}")),
    }
    let key = topic.key(&message).map(|key| hex(&key));
    let writer_key = record["key"].as_str().map(str::to_owned);
    if key != writer_key {
        failures.push(format!("key differs: writer {}, rust {}", show(&writer_key), show(&key)));
    }
    let ours = topic.encode_with(&message, envelope_options(&vector["envelope"])?);
    let theirs: Vec<(String, String)> =
        headers.iter().map(|h| (h.key.clone(), String::from_utf8_lossy(&h.value).into_owned())).collect();
    if headers_json(&ours.headers) != theirs {
        failures.push(format!("headers differ: writer {theirs:?}, rust {:?}", headers_json(&ours.headers)));
    }
    match decode_other(Some(&record_value), &headers) {
        Err(ContractError::WrongType { .. }) => {}
        other => failures.push(format!("another topic decoding this record returns {other:?}, not a WrongType error")),
    }
    Ok(failures)
}

fn show(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("null")
}

fn fields_of(json: &Json) -> Result<Fields, String> {
    json.as_array()
        .ok_or("fields is not a list")?
        .iter()
        .map(|pair| match (pair[0].as_str(), pair[1].as_str()) {
            (Some(path), Some(value)) => Ok((path.to_owned(), value.to_owned())),
            _ => Err(format!("fields entry {pair} is not [path, value]")),
        })
        .collect()
}

fn unhex(json: &Json) -> Result<Vec<u8>, String> {
    let text = json.as_str().ok_or("a hex field is not a string")?;
    if text.len() % 2 != 0 {
        return Err(format!("odd-length hex {text:?}"));
    }
    (0..text.len())
        .step_by(2)
        .map(|index| {
            u8::from_str_radix(&text[index..index + 2], 16).map_err(|error| format!("bad hex {text:?}: {error}"))
        })
        .collect()
}

fn fields_diff(what: &str, expected: &Fields, actual: &Fields) -> Vec<String> {
    let writer: BTreeMap<&str, &str> = expected.iter().map(|(p, v)| (p.as_str(), v.as_str())).collect();
    let reader: BTreeMap<&str, &str> = actual.iter().map(|(p, v)| (p.as_str(), v.as_str())).collect();
    let mut paths: Vec<&str> = writer.keys().chain(reader.keys()).copied().collect();
    paths.sort_unstable();
    paths.dedup();
    paths
        .into_iter()
        .filter_map(|path| match (writer.get(path), reader.get(path)) {
            (Some(w), None) => Some(format!("{what}: field {path} missing (writer: {w:?})")),
            (None, Some(r)) => Some(format!("{what}: unexpected field {path} = {r:?}")),
            (Some(w), Some(r)) if w != r => Some(format!("{what}: field {path}: writer {w:?}, reader {r:?}")),
            _ => None,
        })
        .collect()
}
