//! Encodes an EmailMessage on the audit topic: the marked line must not compile.
use registry_contracts::email::v1::EmailMessage;
use registry_contracts::topics::AUDIT_EVENTS_V1;

fn main() {
    let record = AUDIT_EVENTS_V1.encode(&EmailMessage::default()); // WRONG
    println!("{record:?}");
}
