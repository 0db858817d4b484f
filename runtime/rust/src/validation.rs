//! Field rules (protovalidate) as `docs/runtime.md` ("Field rules") names
//! them in every language: a topic's [`Validation`] mode and the
//! [`Violation`]s of a [`crate::Error::Validation`]. The checking itself needs
//! the feature `validate`; without it nothing is validated.

use std::fmt::Write as _;

/// Where a topic's field rules are enforced; the registry's `validation`
/// option of the topic. The default is [`Validation::Reject`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Validation {
    /// `send` validates first and refuses an invalid message; consumers
    /// dead-letter invalid records (`VALIDATION_REJECT`).
    #[default]
    Reject,
    /// `send` does not validate; consumers dead-letter invalid records
    /// (`VALIDATION_DLQ`).
    Dlq,
    /// Nothing is validated (`VALIDATION_OFF`).
    Off,
}

impl Validation {
    /// The registry's name: `VALIDATION_REJECT`, `VALIDATION_DLQ` or `VALIDATION_OFF`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Reject => "VALIDATION_REJECT",
            Self::Dlq => "VALIDATION_DLQ",
            Self::Off => "VALIDATION_OFF",
        }
    }

    /// Whether `send` validates in this mode.
    pub const fn on_send(self) -> bool {
        matches!(self, Self::Reject)
    }

    /// Whether consumers validate in this mode.
    pub const fn on_consume(self) -> bool {
        !matches!(self, Self::Off)
    }
}

impl std::fmt::Display for Validation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One broken rule: protovalidate's rule id (`string.email`, `required`, a
/// CEL rule's id) and the dotted path of the field (`shipping.zone_id`,
/// `lines[2].amount`; empty for a message rule). The same message gives the
/// same pairs in Python, Go and Rust.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Violation {
    pub rule_id: String,
    pub field: String,
}

impl Violation {
    pub fn new(rule_id: impl Into<String>, field: impl Into<String>) -> Self {
        Self { rule_id: rule_id.into(), field: field.into() }
    }
}

/// The most violations a dead letter's `contracts_dlq_violations` lists.
pub const MAX_VIOLATIONS_HEADER: usize = 100;

/// `contracts_dlq_violations`: `[{"rule_id":"...","field":"..."}]`, at most
/// [`MAX_VIOLATIONS_HEADER`] of them, in protovalidate's order.
pub fn violations_json(violations: &[Violation]) -> String {
    let mut json = String::from("[");
    for (index, violation) in violations.iter().take(MAX_VIOLATIONS_HEADER).enumerate() {
        if index > 0 {
            json.push(',');
        }
        json.push_str("{\"rule_id\":");
        push_json_string(&mut json, &violation.rule_id);
        json.push_str(",\"field\":");
        push_json_string(&mut json, &violation.field);
        json.push('}');
    }
    json.push(']');
    json
}

fn push_json_string(json: &mut String, text: &str) {
    json.push('"');
    for c in text.chars() {
        match c {
            '"' => json.push_str("\\\""),
            '\\' => json.push_str("\\\\"),
            '\n' => json.push_str("\\n"),
            '\r' => json.push_str("\\r"),
            '\t' => json.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(json, "\\u{:04x}", u32::from(c));
            }
            c => json.push(c),
        }
    }
    json.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_have_the_registry_names_and_reject_is_the_default() {
        assert_eq!(Validation::default(), Validation::Reject);
        let names: Vec<&str> = [Validation::Reject, Validation::Dlq, Validation::Off].map(Validation::as_str).into();
        assert_eq!(names, ["VALIDATION_REJECT", "VALIDATION_DLQ", "VALIDATION_OFF"]);
        assert!(Validation::Reject.on_send() && !Validation::Dlq.on_send() && !Validation::Off.on_send());
        assert!(Validation::Reject.on_consume() && Validation::Dlq.on_consume() && !Validation::Off.on_consume());
    }

    #[test]
    fn the_header_is_a_json_array_of_at_most_100() {
        let violations = [Violation::new("string.email", "email"), Violation::new("x", r#"m["a\"b"]"#)];
        assert_eq!(
            violations_json(&violations),
            r#"[{"rule_id":"string.email","field":"email"},{"rule_id":"x","field":"m[\"a\\\"b\"]"}]"#
        );
        assert_eq!(violations_json(&[]), "[]");
        let many = vec![Violation::new("r", "f"); 150];
        assert_eq!(violations_json(&many).matches("rule_id").count(), 100);
    }
}
