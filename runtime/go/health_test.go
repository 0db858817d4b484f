package contracts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestLivenessFollowsBrokerContact(t *testing.T) {
	now := time.Now()
	state := newClientState("consumer g", 0, prometheus.DefaultGatherer)
	if live, detail := state.live(now); !live {
		t.Errorf("a client just started is live: %s", detail)
	}
	state.started = now.Add(-time.Minute)
	if live, detail := state.live(now); live {
		t.Errorf("no broker ever answered, started a minute ago: live (%s)", detail)
	}
	state.lastContact.Store(now.Add(-29 * time.Second).UnixNano())
	if live, detail := state.live(now); !live {
		t.Errorf("a broker answered 29s ago: %s", detail)
	}
	state.lastContact.Store(now.Add(-31 * time.Second).UnixNano())
	if live, detail := state.live(now); live || !strings.Contains(detail, "no broker answered for 31s") {
		t.Errorf("a broker answered 31s ago: live %v (%s)", live, detail)
	}
}

func TestReadinessFindsStuckPartitions(t *testing.T) {
	state := newClientState("consumer g", 10*time.Second, prometheus.DefaultGatherer)
	state.assigned("t", []int32{0, 1, 2})
	state.fetched("t", 0, 10, 4) // records 4..9 waiting
	state.fetched("t", 1, 7, 7)  // caught up
	state.storedOffset("t", 2, 3)
	ready := func(at time.Time) (bool, map[string]string) {
		checks := map[string]string{}
		return state.ready(at, checks), checks
	}
	if ok, checks := ready(time.Now().Add(5 * time.Second)); !ok {
		t.Errorf("not ready 5s after assignment: %v", checks)
	}
	ok, checks := ready(time.Now().Add(11 * time.Second))
	if ok || !strings.HasPrefix(checks["consumer g t/0"], "stuck: 6 records past offset 4") || !strings.HasPrefix(checks["consumer g t/1"], "ok") {
		t.Errorf("partition 0 has waited 11s without progress: ready %v, %v", ok, checks)
	}
	state.storedOffset("t", 0, 4)
	if ok, checks := ready(time.Now().Add(5 * time.Second)); !ok {
		t.Errorf("partition 0 moved: %v", checks)
	}
	state.handlerStarted()
	if ok, checks := ready(time.Now().Add(11 * time.Second)); ok || !strings.Contains(checks["consumer g handler"], "stuck") {
		t.Errorf("handler in flight for 11s: ready %v, %v", ok, checks)
	}
	state.handlerDone()
	state.revoked("t", []int32{0, 1, 2})
	if ok, checks := ready(time.Now().Add(time.Hour)); !ok || len(checks) != 0 {
		t.Errorf("nothing assigned: ready %v, %v", ok, checks)
	}
}

// probeDuration is how long the busy-consumer tests probe: 20 s, as issue 10
// asks; -short makes it 5 s.
func probeDuration() time.Duration {
	if testing.Short() {
		return 5 * time.Second
	}
	return 20 * time.Second
}

type probe struct {
	at      time.Duration // since the start of probing
	path    string
	status  int
	healthy bool
	took    time.Duration
	err     error
}

// probeHealth asks every path every 100 ms for d; each request may take at
// most 1 s.
func probeHealth(t *testing.T, base string, d time.Duration) []probe {
	client := &http.Client{Timeout: time.Second}
	var probes []probe
	start := time.Now()
	for time.Since(start) < d {
		for _, path := range []string{"/livez", "/readyz", "/metrics"} {
			sent := time.Now()
			p := probe{at: sent.Sub(start), path: path}
			resp, err := client.Get(base + path)
			p.took, p.err = time.Since(sent), err
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				p.status = resp.StatusCode
				if path != "/metrics" {
					var report HealthReport
					if err := json.Unmarshal(body, &report); err != nil {
						p.err = fmt.Errorf("not a health report: %q", body)
					}
					p.healthy = report.Healthy
				}
			}
			probes = append(probes, p)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return probes
}

func checkProbes(t *testing.T, probes []probe, wantReady func(at time.Duration) (ready, known bool)) {
	t.Helper()
	slowest := time.Duration(0)
	for _, p := range probes {
		slowest = max(slowest, p.took)
		if p.err != nil || p.took > time.Second {
			t.Errorf("%s at %s: %v after %s", p.path, p.at.Round(time.Millisecond), p.err, p.took)
			continue
		}
		switch p.path {
		case "/livez":
			if p.status != 200 || !p.healthy {
				t.Errorf("/livez at %s: %d", p.at.Round(time.Millisecond), p.status)
			}
		case "/readyz":
			if ready, known := wantReady(p.at); known && (p.healthy != ready || (p.status == 200) != ready) {
				t.Errorf("/readyz at %s: %d, want ready=%v", p.at.Round(time.Millisecond), p.status, ready)
			}
		case "/metrics":
			if p.status != 200 {
				t.Errorf("/metrics at %s: %d", p.at.Round(time.Millisecond), p.status)
			}
		}
	}
	t.Logf("%d probes, slowest answer %s", len(probes), slowest)
}

// A handler that blocks for the whole test: every probe is answered within
// 1 s, /livez stays healthy (the group's heartbeats reach the broker) and
// /readyz turns unhealthy once the handler has run longer than the stuck
// threshold.
func TestHealthAnswersWhileTheHandlerIsBlocked(t *testing.T) {
	requireKafka(t)
	t.Parallel()
	topic := structTestTopic(t, 1)
	producer := newTestProducer(t, WithRegisterer(prometheus.NewRegistry()))
	ctx := testContext(t)
	for i := range 3 {
		if err := Send(ctx, producer, topic, event(t, i, "z", nil)); err != nil {
			t.Fatal(err)
		}
	}
	stuckAfter := 3 * time.Second
	if !testing.Short() {
		stuckAfter = 8 * time.Second
	}
	consumer := newTestConsumer(t, WithStuckAfter(stuckAfter), WithRegisterer(prometheus.NewRegistry()))
	server, err := ServeHealth("127.0.0.1:0", consumer, producer)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	release := make(chan struct{})
	blocked := make(chan time.Time, 1)
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = Consume(runCtx, consumer, topic, func(context.Context, *structpb.Struct, Metadata) error {
			select {
			case blocked <- time.Now():
			default:
			}
			<-release
			return nil
		})
	}()
	var handlerStart time.Time
	select {
	case handlerStart = <-blocked:
	case <-ctx.Done():
		t.Fatal("the handler was never called")
	}
	probeStart := time.Now()
	probes := probeHealth(t, "http://"+server.Addr().String(), probeDuration())
	close(release)
	stop()
	wg.Wait()

	offset := probeStart.Sub(handlerStart)
	checkProbes(t, probes, func(at time.Duration) (bool, bool) {
		blockedFor := at + offset
		switch {
		case blockedFor < stuckAfter-500*time.Millisecond:
			return true, true
		case blockedFor > stuckAfter+500*time.Millisecond:
			return false, true
		}
		return false, false // too close to the threshold to say
	})
}

// A consumer long-polling an idle topic for the whole test: every probe is
// answered within 1 s, and the consumer is live and ready throughout.
func TestHealthAnswersDuringALongPollOnAnIdleTopic(t *testing.T) {
	requireKafka(t)
	t.Parallel()
	topic := structTestTopic(t, 2)
	consumer := newTestConsumer(t, WithStuckAfter(2*time.Second), WithRegisterer(prometheus.NewRegistry()))
	server, err := ServeHealth("127.0.0.1:0", consumer)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	runCtx, stop := context.WithCancel(testContext(t))
	done := make(chan error, 1)
	go func() {
		done <- Consume(runCtx, consumer, topic, func(context.Context, *structpb.Struct, Metadata) error { return nil })
	}()
	probes := probeHealth(t, "http://"+server.Addr().String(), probeDuration())
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Consume returned %v", err)
	}
	checkProbes(t, probes, func(time.Duration) (bool, bool) { return true, true })
}
