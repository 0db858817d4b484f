//! Record keys, encoded as `docs/envelope.md` prescribes so that every
//! language puts the same key on the same record (and so on the same partition).
//!
//! Generated code calls one of these from a topic's key function:
//! `key::string(&m.zone_id)`, `key::int(i64::from(m.shard))`,
//! `key::int(m.kind as i64)` for an enum (prost stores enums as `i32`).

/// A `string` field: its UTF-8 bytes.
pub fn string(value: &str) -> Vec<u8> {
    value.as_bytes().to_vec()
}

/// A `bytes` field: the bytes as they are.
pub fn bytes(value: &[u8]) -> Vec<u8> {
    value.to_vec()
}

/// Any signed integer field (`int32`, `int64`, `sint*`, `sfixed*`) or an enum's
/// number: decimal ASCII, e.g. `-7`.
pub fn int(value: i64) -> Vec<u8> {
    value.to_string().into_bytes()
}

/// Any unsigned integer field (`uint32`, `uint64`, `fixed*`): decimal ASCII.
pub fn uint(value: u64) -> Vec<u8> {
    value.to_string().into_bytes()
}

/// A `bool` field: `true` or `false`.
pub fn boolean(value: bool) -> Vec<u8> {
    let text: &[u8] = if value { b"true" } else { b"false" };
    text.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_is_utf8() {
        assert_eq!(string("zone-é"), "zone-é".as_bytes());
        assert_eq!(string(""), b"");
    }

    #[test]
    fn bytes_are_unchanged() {
        assert_eq!(bytes(&[0, 255, 10]), vec![0, 255, 10]);
    }

    #[test]
    fn integers_are_decimal_ascii() {
        assert_eq!(int(42), b"42");
        assert_eq!(int(-7), b"-7");
        assert_eq!(int(i64::MIN), b"-9223372036854775808");
        assert_eq!(uint(u64::MAX), b"18446744073709551615");
        assert_eq!(int(i64::from(-3_i32)), b"-3");
        assert_eq!(uint(u64::from(3_u32)), b"3");
    }

    #[test]
    fn booleans_are_words() {
        assert_eq!(boolean(true), b"true");
        assert_eq!(boolean(false), b"false");
    }
}
