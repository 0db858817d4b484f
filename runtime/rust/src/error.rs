//! The two ways a record can fail its topic's contract (`docs/envelope.md`, "Decoding").

/// A record that does not hold its topic's message type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// `ce_type` is missing or names another message than the topic's.
    #[error(
        "wrong message type: expected ce_type {expected:?}, {}",
        match actual {
            Some(actual) => format!("got {actual:?}"),
            None => "got no ce_type header".to_owned(),
        }
    )]
    WrongType {
        /// The topic's fully qualified message name.
        expected: &'static str,
        /// The record's `ce_type` (lossily UTF-8 decoded), `None` if absent.
        actual: Option<String>,
    },
    /// `ce_type` is right but the value does not parse as that message.
    #[error(transparent)]
    Decode(DecodeError),
}

/// Why a value with the right `ce_type` could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The record has a null value (a tombstone); no message can come of it.
    #[error("record has no value (null, a tombstone): expected a {type_name} message")]
    NoValue { type_name: &'static str },
    /// The bytes are not a valid encoding of the message.
    // The prost error is part of the text rather than a `source()`: dead-letter
    // headers and logs want the whole reason on one line.
    #[error("value is not a valid {type_name} message: {error}")]
    Invalid { type_name: &'static str, error: prost::DecodeError },
}
