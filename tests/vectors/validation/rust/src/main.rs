//! `validation-vectors VECTORS.json`: reads validation vectors (a JSON array
//! of `{"id", "type", "message"}`, the message in protobuf JSON) and prints,
//! as one JSON array, each vector's violations as the Rust runtime reports
//! them: `[{"id", "type", "violations": [{"rule_id", "field"}]}]`, in
//! protovalidate's order. A vector that states its `"violations"` is checked
//! against them too: the program then exits 1 after printing, naming each
//! mismatch on stderr.

use std::process::ExitCode;

use contracts_runtime::prost_protovalidate::types::DESCRIPTOR_POOL;
use contracts_runtime::prost_reflect::{DescriptorPool, DynamicMessage};
use contracts_runtime::{Error, Settings, Topic, Violation};
use prost::Message;
use serde_json::{json, Value};

/// protoc-gen-prost 0.5.0's output for tests/vectors/validation/proto, with
/// `file_descriptor_set,btree_map=.,extern_path=.buf.validate=::prost_protovalidate::types`:
/// the runtime's test fixture, the same bytes a generated crate holds.
#[allow(clippy::all, clippy::pedantic, dead_code)]
mod validation_v1 {
    include!("../../../../../runtime/rust/tests/fixtures/validation.v1.rs");
}

const SETTINGS: Settings = Settings {
    partitions: None,
    replication_factor: None,
    retention_ms: None,
    cleanup_policy: None,
    owner: "",
    producers: &[],
    consumers: &[],
    compatibility: "",
};
const DESCRIPTORS: &[&[u8]] = &[validation_v1::FILE_DESCRIPTOR_SET];
const SIGNUPS: Topic<validation_v1::Signup> =
    Topic::new("validation.vectors", "validation.v1.Signup", None, SETTINGS).with_descriptors(DESCRIPTORS);
const ORDERS: Topic<validation_v1::Order> =
    Topic::new("validation.vectors", "validation.v1.Order", None, SETTINGS).with_descriptors(DESCRIPTORS);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, path] = args.as_slice() else {
        eprintln!("usage: validation-vectors VECTORS.json");
        return ExitCode::from(2);
    };
    match run(path) {
        Ok((results, mismatches)) => {
            println!("{}", serde_json::to_string_pretty(&results).expect("JSON values serialize"));
            for mismatch in &mismatches {
                eprintln!("validation-vectors: {mismatch}");
            }
            if mismatches.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("validation-vectors: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The results, and a line per vector whose stated violations differ.
fn run(path: &str) -> Result<(Value, Vec<String>), String> {
    let text = std::fs::read_to_string(path).map_err(|error| format!("{path}: {error}"))?;
    let vectors: Vec<Value> = serde_json::from_str(&text).map_err(|error| format!("{path}: {error}"))?;
    let mut pool = DESCRIPTOR_POOL.clone();
    pool.decode_file_descriptor_set(validation_v1::FILE_DESCRIPTOR_SET).map_err(|error| error.to_string())?;
    let mut results = Vec::new();
    let mut mismatches = Vec::new();
    for vector in &vectors {
        let id = vector["id"].as_str().unwrap_or_default();
        let type_name = vector["type"].as_str().unwrap_or_default();
        let violations =
            violations_of(&pool, type_name, &vector["message"]).map_err(|error| format!("vector {id}: {error}"))?;
        let violations =
            Value::Array(violations.into_iter().map(|v| json!({"rule_id": v.rule_id, "field": v.field})).collect());
        if let Some(expected) = vector.get("violations").filter(|expected| **expected != violations) {
            mismatches.push(format!("vector {id}: got {violations}, want {expected}"));
        }
        results.push(json!({"id": id, "type": type_name, "violations": violations}));
    }
    Ok((Value::Array(results), mismatches))
}

/// Parses the protobuf JSON into the prost type (through prost-reflect, which
/// reads protobuf JSON) and validates it through its Topic, as a producer or
/// consumer would.
fn violations_of(pool: &DescriptorPool, type_name: &str, message: &Value) -> Result<Vec<Violation>, String> {
    let descriptor = pool.get_message_by_name(type_name).ok_or(format!("unknown type {type_name}"))?;
    let dynamic = DynamicMessage::deserialize(descriptor, message).map_err(|error| error.to_string())?;
    let bytes = dynamic.encode_to_vec();
    let result = match type_name {
        "validation.v1.Signup" => SIGNUPS.validate(&Message::decode(bytes.as_slice()).map_err(|e| e.to_string())?),
        "validation.v1.Order" => ORDERS.validate(&Message::decode(bytes.as_slice()).map_err(|e| e.to_string())?),
        other => return Err(format!("no topic for {other}")),
    };
    match result {
        Ok(()) => Ok(Vec::new()),
        Err(Error::Validation { violations, .. }) => Ok(violations),
        Err(error) => Err(error.to_string()),
    }
}
