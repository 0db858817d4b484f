//! Field rules (feature `validate`) on prost types generated the way
//! `contracts gen` generates them: protoc-gen-prost 0.5.0 with
//! `file_descriptor_set,btree_map=.,extern_path=.buf.validate=::prost_protovalidate::types`
//! from tests/vectors/validation/proto (see tests/vectors/validation/README.md).
#![cfg(feature = "validate")]

#[allow(clippy::all, clippy::pedantic, dead_code)]
mod validation_v1 {
    include!("fixtures/validation.v1.rs");
}

use contracts_runtime::{Error, ErrorKind, Settings, Topic, Validation, Violation};
use validation_v1::{Address, Line, Order, Plan, Signup};

const SETTINGS: Settings = Settings {
    partitions: Some(1),
    replication_factor: Some(1),
    retention_ms: None,
    cleanup_policy: None,
    owner: "team-test",
    producers: &[],
    consumers: &[],
    compatibility: "source",
};

/// What a generated crate declares: its packages' descriptor sets, once.
const FILE_DESCRIPTOR_SETS: &[&[u8]] = &[validation_v1::FILE_DESCRIPTOR_SET];

const SIGNUPS: Topic<Signup> =
    Topic::new("validation.signups.v1", "validation.v1.Signup", None, SETTINGS).with_descriptors(FILE_DESCRIPTOR_SETS);
const ORDERS: Topic<Order> = Topic::new("validation.orders.v1", "validation.v1.Order", None, SETTINGS)
    .with_validation(Validation::Dlq)
    .with_descriptors(FILE_DESCRIPTOR_SETS);

fn valid_signup() -> Signup {
    Signup {
        user_id: "u-123".into(),
        email: "ada@example.com".into(),
        plan: Plan::Pro as i32,
        starts_at: 10,
        ends_at: 20,
    }
}

fn violations(error: Error) -> Vec<(String, String)> {
    assert_eq!(error.kind(), ErrorKind::Validation, "{error}");
    let Error::Validation { violations, .. } = error else { unreachable!() };
    violations.into_iter().map(|Violation { rule_id, field }| (rule_id, field)).collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(rule, field)| ((*rule).to_owned(), (*field).to_owned())).collect()
}

#[test]
fn a_valid_message_passes() {
    assert_eq!(SIGNUPS.validate(&valid_signup()), Ok(()));
}

#[test]
fn each_rule_kind_names_its_rule_and_field() {
    type Case = (&'static str, fn(&mut Signup), &'static [(&'static str, &'static str)]);
    let cases: [Case; 5] = [
        ("min_len", |m| m.user_id = "u".into(), &[("string.min_len", "user_id")]),
        ("email", |m| m.email = "not an address".into(), &[("string.email", "email")]),
        ("defined_only", |m| m.plan = 7, &[("enum.defined_only", "plan")]),
        ("unspecified", |m| m.plan = Plan::Unspecified as i32, &[("enum.not_in", "plan")]),
        ("cel", |m| m.ends_at = m.starts_at, &[("signup.ends_after_starts", "")]),
    ];
    for (name, change, expected) in cases {
        let mut message = valid_signup();
        change(&mut message);
        assert_eq!(violations(SIGNUPS.validate(&message).unwrap_err()), pairs(expected), "{name}");
    }
}

#[test]
fn nested_field_paths() {
    let order = Order {
        order_id: "not-a-uuid".into(),
        shipping: Some(Address::default()),
        lines: vec![
            Line { sku: "a".into(), amount: 1 },
            Line { sku: "b".into(), amount: 2 },
            Line { sku: "c".into(), amount: 0 },
        ],
        quantities: [("x".to_owned(), 1)].into(),
        priority: 10,
    };
    let mut found = violations(ORDERS.validate(&order).unwrap_err());
    found.sort();
    let mut expected = pairs(&[
        ("string.uuid", "order_id"),
        ("string.min_len", "shipping.zone_id"),
        ("int64.gt", "lines[2].amount"),
        ("string.min_len", r#"quantities["x"]"#),
        ("int32.gte_lte", "priority"),
    ]);
    expected.sort();
    assert_eq!(found, expected);
    let empty = Order { order_id: "0b7e4a52-3c1f-4d2a-9a51-2f1c8e0d6b11".into(), ..Order::default() };
    let mut found = violations(ORDERS.validate(&empty).unwrap_err());
    found.sort();
    assert_eq!(found, pairs(&[("repeated.min_items", "lines"), ("required", "shipping")]));
}

#[test]
fn the_error_says_what_and_where() {
    let message = Signup { email: "x".into(), ..valid_signup() };
    let text = SIGNUPS.validate(&message).unwrap_err().to_string();
    for part in ["validation.v1.Signup", "\"validation.signups.v1\"", "email", "[string.email]"] {
        assert!(text.contains(part), "{text:?} does not mention {part}");
    }
}

#[test]
fn a_type_the_descriptors_do_not_define_is_a_config_error() {
    const WRONG: Topic<Signup> =
        Topic::new("t", "validation.v1.Nothing", None, SETTINGS).with_descriptors(FILE_DESCRIPTOR_SETS);
    let error = WRONG.validate(&valid_signup()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config, "{error}");
}

#[test]
fn well_known_types_without_descriptors_come_from_the_global_pool() {
    const TIMES: Topic<prost_types::Timestamp> = Topic::new("t", "google.protobuf.Timestamp", None, SETTINGS);
    assert_eq!(TIMES.validate(&prost_types::Timestamp { seconds: 1, nanos: 2 }), Ok(()));
}

#[test]
fn a_hand_written_topic_without_descriptors_has_no_rules_to_check() {
    const BARE: Topic<Signup> = Topic::new("t", "validation.v1.Signup", None, SETTINGS);
    assert_eq!(BARE.validate(&Signup::default()), Ok(()));
}

#[test]
fn modes_are_carried_by_the_topic() {
    assert_eq!(SIGNUPS.validation(), Validation::Reject);
    assert_eq!(ORDERS.validation(), Validation::Dlq);
}
