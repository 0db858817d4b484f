package contracts

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
)

func TestCreateTopicsIsIdempotent(t *testing.T) {
	requireKafka(t)
	topic := structTestTopic(t, 2)
	client := rawClient(t)
	admin := kadm.NewClient(client)
	if err := CreateTopics(testContext(t), client, topic.Spec()); err != nil {
		t.Fatalf("second CreateTopics: %v", err)
	}
	configs, err := admin.DescribeTopicConfigs(testContext(t), topic.Name)
	if err != nil {
		t.Fatal(err)
	}
	config, err := configs.On(topic.Name, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range config.Configs {
		if c.Key == "retention.ms" && c.MaybeValue() != "3600000" {
			t.Errorf("retention.ms = %s", c.MaybeValue())
		}
	}
}
