package main

import (
	"errors"
	"fmt"

	preferencesv1 "example.com/registry/gen/preferences/v1"
	"example.com/registry/gen/topics"
	contracts "github.com/contractsdev/contracts/runtime/go"
)

func main() {
	msg := &preferencesv1.PreferenceChanged{
		UserId:     "u-1",
		Channels:   []*preferencesv1.ChannelPreference{{Channel: 1}, {}},
		QuietHours: &preferencesv1.QuietHours{StartMinute: 600, EndMinute: 600},
	}
	err := topics.PreferencesChangedV1.Validate(msg)
	var invalid *contracts.ValidationError
	if errors.As(err, &invalid) {
		for _, v := range invalid.Violations {
			fmt.Println(v.RuleID, v.Field)
		}
	}
	fmt.Println(topics.AuditEventsV1.Validation)
}
