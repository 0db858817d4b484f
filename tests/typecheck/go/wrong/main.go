// Encodes an EmailMessage on the audit topic: the marked line must not compile.
package main

import (
	"fmt"

	emailv1 "example.com/registry/gen/email/v1"
	"example.com/registry/gen/topics"
)

func main() {
	record, err := topics.AuditEventsV1.Encode(&emailv1.EmailMessage{MessageId: "m-1"}) // WRONG
	fmt.Println(record, err)
}
