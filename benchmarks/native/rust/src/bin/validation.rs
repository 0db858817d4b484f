//! Prints, in one run, what checking a message's field rules costs per record
//! against what encoding it costs, for `validation.v1.Signup` (five rules:
//! min_len, email, defined_only, not_in and a CEL rule across two fields;
//! tests/vectors/validation/proto), and for a type without rules. No broker:
//! CPU per record only.
//!
//! `PROTOC=... cargo run --release --features validate --bin validation [-- RECORDS]`

use std::hint::black_box;
use std::time::{Duration, Instant};

use contracts_runtime::{key, Settings, Topic};
use prost::Message;

/// protoc-gen-prost 0.5.0's output for the vectors' proto, as a generated
/// crate holds it (the runtime's test fixture).
#[allow(clippy::all, clippy::pedantic, dead_code)]
mod validation_v1 {
    include!("../../../../../runtime/rust/tests/fixtures/validation.v1.rs");
}

use validation_v1::{Plan, Signup};

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
const SIGNUPS: Topic<Signup> =
    Topic::new("validation.signups.v1", "validation.v1.Signup", Some(|m: &Signup| key::string(&m.user_id)), SETTINGS)
        .with_descriptors(&[validation_v1::FILE_DESCRIPTOR_SET]);
/// google.protobuf.Value has no rules; its descriptor comes from prost-reflect's global pool.
const NO_RULES: Topic<prost_types::Value> = Topic::new("bench.values.v1", "google.protobuf.Value", None, SETTINGS);

/// Runs `f` for about a second (after a warm-up) and returns ns per call.
fn measure(mut f: impl FnMut(usize)) -> f64 {
    for i in 0..1_000 {
        f(i);
    }
    let mut calls = 0usize;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(1) {
        for _ in 0..1_000 {
            f(calls);
            calls += 1;
        }
    }
    started.elapsed().as_nanos() as f64 / calls as f64
}

fn main() {
    let records: usize = std::env::args().nth(1).map_or(1024, |n| n.parse().expect("RECORDS is a number"));
    let messages: Vec<Signup> = (0..records)
        .map(|i| Signup {
            user_id: format!("user-{i}"),
            email: format!("user{i}@example.com"),
            plan: Plan::Pro as i32,
            starts_at: i as i64,
            ends_at: i as i64 + 3600,
        })
        .collect();
    // The rules compile on first use; that is not a per-record cost.
    SIGNUPS.validate(&messages[0]).expect("a valid message");
    let invalid = Signup { user_id: "u".into(), email: "nobody".into(), ends_at: 0, ..messages[0].clone() };
    assert!(SIGNUPS.validate(&invalid).is_err(), "an invalid message passed");
    let plain = prost_types::Value { kind: Some(prost_types::value::Kind::StringValue("no rules here".into())) };

    println!("Rust, prost-protovalidate 0.6.0, {records} distinct messages");
    println!("{:<55} {:>12}", "per record", "ns/op");
    let encode_to_vec = measure(|i| {
        black_box(messages[i % records].encode_to_vec());
    });
    println!("{:<55} {encode_to_vec:>12.0}", "encode_to_vec (protobuf)");
    let encode = measure(|i| {
        black_box(SIGNUPS.encode(&messages[i % records]));
    });
    println!("{:<55} {encode:>12.0}", "encode (Topic::encode: value, key, envelope headers)");
    type Row<'a> = (&'static str, Box<dyn FnMut(usize) + 'a>);
    let rows: [Row<'_>; 3] = [
        ("validate, valid Signup (5 rules)", Box::new(|i| SIGNUPS.validate(&messages[i % records]).expect("valid"))),
        (
            "validate, invalid Signup (3 violations)",
            Box::new(|_| {
                black_box(SIGNUPS.validate(&invalid).unwrap_err());
            }),
        ),
        ("validate, type without rules", Box::new(|_| NO_RULES.validate(&plain).expect("no rules"))),
    ];
    for (name, f) in rows {
        let ns = measure(f);
        println!("{name:<55} {ns:>12.0}  ({:.1}x encode)", ns / encode);
    }
}
