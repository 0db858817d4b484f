//! Checking messages against their field rules with `prost-protovalidate`
//! (feature `validate`).
//!
//! prost-protovalidate validates `prost-reflect` messages. A generated prost
//! type carries no descriptor, so a [`Topic`] carries the encoded
//! `FileDescriptorSet`s of its package (protoc-gen-prost's
//! `file_descriptor_set` option writes one per module); the runtime builds
//! one descriptor pool from them once per message type and checks each
//! message as a `DynamicMessage` of that type. That is what prost-reflect's
//! own `transcode_to_dynamic` does for a derived `ReflectMessage`, so the
//! generated types need no reflection code of their own.

use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, RwLock};

use prost::Message;
use prost_protovalidate::Validator;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind, MessageDescriptor};

use crate::error::Error;
use crate::validation::Violation;
use crate::Topic;

/// One validator for the process: it compiles each message type's rules
/// once and keeps them.
static VALIDATOR: LazyLock<Validator> = LazyLock::new(Validator::new);

/// Message descriptors by full name and whether the topic brought descriptor
/// sets (a hand-written binding of the same type may have none): `Ok(None)`
/// for a type with no known descriptor (nothing to validate), `Err` when the
/// topic's sets are broken.
type Descriptors = HashMap<(&'static str, bool), Result<Option<MessageDescriptor>, String>>;
static DESCRIPTORS: LazyLock<RwLock<Descriptors>> = LazyLock::new(|| RwLock::new(HashMap::new()));

impl<T: Message + Default> Topic<T> {
    /// Checks `message` against its contract's field rules, whatever the
    /// topic's mode: an [`Error::Validation`] lists each violation. Rules
    /// that do not compile, or a type the topic's descriptors do not hold,
    /// are an [`Error::Config`].
    ///
    /// A topic without descriptor sets whose type is not in prost-reflect's
    /// global pool either (a hand-written binding) has no rules to check:
    /// every message passes.
    pub fn validate(&self, message: &T) -> Result<(), Error> {
        let Some(descriptor) = descriptor(self.type_name(), self.descriptors())? else { return Ok(()) };
        let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
            .map_err(|error| Error::Config(format!("{} does not re-decode as itself: {error}", self.type_name())))?;
        match VALIDATOR.validate(&dynamic) {
            Ok(()) => Ok(()),
            Err(prost_protovalidate::Error::Validation(invalid)) => Err(Error::Validation {
                topic: self.name().to_owned(),
                type_name: self.type_name(),
                violations: invalid
                    .violations()
                    .iter()
                    .map(|violation| Violation::new(violation.rule_id(), violation.field_path()))
                    .collect(),
                detail: describe(invalid.violations()),
            }),
            Err(prost_protovalidate::Error::Compilation(error)) => Err(Error::Config(format!(
                "the field rules of {} (topic {:?}) do not compile, fix them in the contract (contracts lint reports them): {error}",
                self.type_name(),
                self.name()
            ))),
            // A rule that failed while it ran (a CEL runtime error) says
            // nothing good about the message either: invalid, no rule to name.
            Err(error) => Err(Error::Validation {
                topic: self.name().to_owned(),
                type_name: self.type_name(),
                violations: Vec::new(),
                detail: error.to_string(),
            }),
        }
    }
}

/// `field: message [rule id]` per violation, on one line.
fn describe(violations: &[prost_protovalidate::Violation]) -> String {
    let parts: Vec<String> = violations
        .iter()
        .map(|violation| {
            let field = violation.field_path();
            let text = format!("{} [{}]", violation.message(), violation.rule_id());
            if field.is_empty() {
                text
            } else {
                format!("{field}: {text}")
            }
        })
        .collect();
    parts.join("; ")
}

fn descriptor(type_name: &'static str, sets: &'static [&'static [u8]]) -> Result<Option<MessageDescriptor>, Error> {
    let key = (type_name, sets.is_empty());
    let cached = DESCRIPTORS.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&key).cloned();
    let found = match cached {
        Some(found) => found,
        None => {
            let found = find_descriptor(type_name, sets);
            let mut descriptors = DESCRIPTORS.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            descriptors.entry(key).or_insert(found).clone()
        }
    };
    found.map_err(Error::Config)
}

/// The descriptor of `type_name` from the topic's descriptor sets, or from
/// prost-reflect's global pool when the topic has none (the well-known
/// types, and types whose crate registered them there); `None` when the type
/// has no rules at all, so that such a type costs one map lookup.
fn find_descriptor(type_name: &str, sets: &[&[u8]]) -> Result<Option<MessageDescriptor>, String> {
    let descriptor = if sets.is_empty() {
        DescriptorPool::global().get_message_by_name(type_name)
    } else {
        let found = pool_of(sets)?.get_message_by_name(type_name);
        Some(found.ok_or_else(|| {
            format!(
                "no descriptor of {type_name} to validate it with: the topic's file descriptor sets do not define it"
            )
        })?)
    };
    Ok(descriptor.filter(|descriptor| contains_rules(descriptor, &mut HashSet::new())))
}

/// Whether the message or any message it contains carries a rule.
fn contains_rules(message: &MessageDescriptor, seen: &mut HashSet<String>) -> bool {
    if !seen.insert(message.full_name().to_owned()) {
        return false;
    }
    let pool = message.parent_pool();
    // Options with unknown fields may hold a rule unparsed: they count as
    // marked, and protovalidate decides.
    let marked = |options: DynamicMessage, extension: &str| {
        options.unknown_fields().next().is_some()
            || pool.get_extension_by_name(extension).is_some_and(|extension| options.has_extension(&extension))
    };
    marked(message.options(), "buf.validate.message")
        || message.oneofs().any(|oneof| marked(oneof.options(), "buf.validate.oneof"))
        || message.fields().any(|field| {
            // Map fields are messages too (their entry), so their values are seen.
            marked(field.options(), "buf.validate.field")
                || matches!(field.kind(), Kind::Message(inner) if contains_rules(&inner, seen))
        })
}

/// A pool with protovalidate's files, the well-known types and `sets`. The
/// sets are concatenated into one (a `FileDescriptorSet` is one repeated
/// field, so concatenated encodings are its union) and decoded at once: a
/// package may import another in any order, and extension options such as
/// the rules survive only a decode from bytes.
fn pool_of(sets: &[&[u8]]) -> Result<DescriptorPool, String> {
    let mut pool = prost_protovalidate::types::DESCRIPTOR_POOL.clone();
    let missing: Vec<_> = DescriptorPool::global()
        .files()
        .filter(|file| pool.get_file_by_name(file.name()).is_none())
        .map(|file| file.file_descriptor_proto().clone())
        .collect();
    pool.add_file_descriptor_protos(missing).map_err(|error| format!("well-known types: {error}"))?;
    pool.decode_file_descriptor_set(sets.concat().as_slice())
        .map_err(|error| format!("the topic's file descriptor sets do not load: {error}"))?;
    Ok(pool)
}
