package contracts

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// CreateTopics creates each topic and its dead-letter topic with the
// registry settings; zero settings take the broker's defaults. Topics that
// already exist are left as they are. It returns once every topic is visible
// in the cluster's metadata. It is meant for tests and local development;
// production topics belong to the registry's provisioning.
func CreateTopics(ctx context.Context, client *kgo.Client, specs ...TopicSpec) error {
	admin := kadm.NewClient(client)
	var errs []error
	var names []string
	for _, spec := range specs {
		partitions, replicationFactor := int32(-1), int16(-1)
		if spec.Settings.Partitions > 0 {
			partitions = spec.Settings.Partitions
		}
		if spec.Settings.ReplicationFactor > 0 {
			replicationFactor = spec.Settings.ReplicationFactor
		}
		configs := map[string]*string{}
		if spec.Settings.RetentionMs != 0 {
			configs["retention.ms"] = kadm.StringPtr(strconv.FormatInt(spec.Settings.RetentionMs, 10))
		}
		if spec.Settings.CleanupPolicy != "" {
			configs["cleanup.policy"] = kadm.StringPtr(spec.Settings.CleanupPolicy)
		}
		// The dead-letter topic keeps every letter: it is never compacted.
		for name, cfg := range map[string]map[string]*string{spec.Name: configs, spec.Name + DLQSuffix: nil} {
			names = append(names, name)
			_, err := admin.CreateTopic(ctx, partitions, replicationFactor, cfg, name)
			if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
				errs = append(errs, fmt.Errorf("contracts: creating topic %q: %w", name, err))
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return waitForTopics(ctx, client, names)
}

// waitForTopics polls until every partition of every topic has a leader that
// answers for it: a topic just created may not be served by every broker yet,
// and a leader listed in the metadata can still refuse writes for a moment
// (NOT_LEADER_FOR_PARTITION), so the leaders themselves are asked for offsets.
func waitForTopics(ctx context.Context, client *kgo.Client, names []string) error {
	admin := kadm.NewClient(client)
	for {
		states, err := describeTopics(ctx, client, names)
		if err == nil {
			for _, state := range states {
				err = errors.Join(err, state)
			}
		}
		if err == nil {
			var listed kadm.ListedOffsets
			if listed, err = admin.ListEndOffsets(ctx, names...); err == nil {
				err = listed.Error()
			}
		}
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("contracts: topics %v created but not ready: %w", names, errors.Join(ctx.Err(), err))
		case <-time.After(20 * time.Millisecond):
		}
	}
}
