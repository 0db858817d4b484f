// Prints topic, ce_type and record key of one message per fixture topic
// (tests/golden); the Python and Rust programs print the same lines.
package main

import (
	"fmt"

	alertsv1 "example.com/fixture/gen/alerts/v1"
	inventoryv1 "example.com/fixture/gen/inventory/v1"
	ordersv1 "example.com/fixture/gen/orders/v1"
	"example.com/fixture/gen/topics"
	"github.com/twmb/franz-go/pkg/kgo"
)

func show(record *kgo.Record, err error) {
	if err != nil {
		panic(err)
	}
	ceType := ""
	for _, header := range record.Headers {
		if header.Key == "ce_type" {
			ceType = string(header.Value)
		}
	}
	key := "-"
	if record.Key != nil {
		key = string(record.Key)
	}
	fmt.Printf("%s\t%s\t%s\n", record.Topic, ceType, key)
}

func main() {
	show(topics.AlertsHeartbeatsV1.Encode(&alertsv1.Heartbeat{Monitor: "m-1"}))
	show(topics.AlertsRaisedV1.Encode(&alertsv1.Alert{Severity: alertsv1.Severity_SEVERITY_CRITICAL, Type: "disk"}))
	show(topics.InventoryStockV1.Encode(&inventoryv1.StockLevel{SkuId: -42}))
	show(topics.OrdersPlacedV1.Encode(&ordersv1.OrderPlaced{OrderId: "o-1"}))
}
