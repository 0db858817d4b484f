//! Prints topic, ce_type and record key of one message per fixture topic
//! (tests/golden); the Python and Go programs print the same lines.
use fixture_contracts::alerts::v1::{Alert, Heartbeat, Severity};
use fixture_contracts::inventory::v1::StockLevel;
use fixture_contracts::orders::v1::OrderPlaced;
use fixture_contracts::runtime::EncodedRecord;
use fixture_contracts::topics::{ALERTS_HEARTBEATS_V1, ALERTS_RAISED_V1, INVENTORY_STOCK_V1, ORDERS_PLACED_V1};

fn show(record: &EncodedRecord) {
    let ce_type = String::from_utf8_lossy(record.header("ce_type").unwrap_or_default());
    let key = record.key.as_deref().map_or_else(|| "-".to_owned(), |key| String::from_utf8_lossy(key).into_owned());
    println!("{}\t{}\t{}", record.topic, ce_type, key);
}

fn main() {
    show(&ALERTS_HEARTBEATS_V1.encode(&Heartbeat { monitor: "m-1".into(), ..Heartbeat::default() }));
    show(&ALERTS_RAISED_V1.encode(&Alert {
        severity: Severity::Critical.into(),
        r#type: "disk".into(),
        ..Alert::default()
    }));
    show(&INVENTORY_STOCK_V1.encode(&StockLevel { sku_id: -42, ..StockLevel::default() }));
    show(&ORDERS_PLACED_V1.encode(&OrderPlaced { order_id: "o-1".into(), ..OrderPlaced::default() }));
}
