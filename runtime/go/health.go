package contracts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Health thresholds of docs/runtime.md.
const (
	// DefaultLivenessWindow: a client is live while a broker answered it
	// within this window (or it started less than this ago).
	DefaultLivenessWindow = 30 * time.Second
	// DefaultStuckAfter: a partition is stuck when its stored offset has
	// not moved for this long while records wait past it, or the handler
	// in flight has run this long.
	DefaultStuckAfter = 30 * time.Second
	// probeAfter: a client that heard nothing from a broker for this long
	// sends a metadata request of its own, so an idle producer stays live
	// while the cluster answers.
	probeAfter   = 10 * time.Second
	probeTimeout = 5 * time.Second
)

// clientState is what the health checks read: kept by the client as it
// works, read without locks that the polling loop could hold for long, so
// that an answer never waits for the client.
type clientState struct {
	name        string
	started     time.Time
	lastContact atomic.Int64 // unix nanos of the last broker response
	stuckAfter  time.Duration
	gatherer    prometheus.Gatherer

	mu         sync.Mutex // held only for map updates, never across I/O
	partitions map[topicPartition]*partitionProgress
	inFlight   time.Time // start of the handler call in flight; zero when none

	probing   atomic.Bool
	stopProbe chan struct{}
	stopOnce  sync.Once
}

type topicPartition struct {
	topic     string
	partition int32
}

type partitionProgress struct {
	end     int64     // high watermark of the last fetch; -1 unknown
	stored  int64     // next offset to handle (last stored + 1); -1 unknown
	movedAt time.Time // when stored last moved (or the partition was assigned)
}

func newClientState(name string, stuckAfter time.Duration, gatherer prometheus.Gatherer) *clientState {
	if stuckAfter <= 0 {
		stuckAfter = DefaultStuckAfter
	}
	s := &clientState{
		name: name, started: time.Now(), stuckAfter: stuckAfter, gatherer: gatherer,
		partitions: map[topicPartition]*partitionProgress{}, stopProbe: make(chan struct{}),
	}
	return s
}

// OnBrokerRead implements kgo.HookBrokerRead: any response counts as contact.
func (s *clientState) OnBrokerRead(_ kgo.BrokerMetadata, _ int16, _ int, _, _ time.Duration, err error) {
	if err == nil {
		s.lastContact.Store(time.Now().UnixNano())
	}
}

var _ kgo.HookBrokerRead = (*clientState)(nil)

// probe keeps the liveness signal fresh for clients that may be idle (a
// producer with nothing to send): when no broker answered for probeAfter,
// it asks for metadata on its own goroutine. franz-go serves concurrent
// requests, so this never waits on a poll.
func (s *clientState) probe(client *kgo.Client) {
	ticker := time.NewTicker(probeAfter / 4)
	defer ticker.Stop()
	for {
		select {
		case <-s.stopProbe:
			return
		case <-ticker.C:
		}
		if time.Since(time.Unix(0, s.lastContact.Load())) < probeAfter || !s.probing.CompareAndSwap(false, true) {
			continue
		}
		go func() {
			defer s.probing.Store(false)
			ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
			defer cancel()
			req := kmsg.NewPtrMetadataRequest()
			req.Topics = []kmsg.MetadataRequestTopic{} // none: only the brokers
			if _, err := req.RequestWith(ctx, client); err == nil {
				// also for a caller's client, which has no hook of ours
				s.lastContact.Store(time.Now().UnixNano())
			}
		}()
	}
}

func (s *clientState) close() { s.stopOnce.Do(func() { close(s.stopProbe) }) }

func (s *clientState) assigned(topic string, partitions []int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for _, p := range partitions {
		s.partitions[topicPartition{topic, p}] = &partitionProgress{end: -1, stored: -1, movedAt: now}
	}
}

func (s *clientState) revoked(topic string, partitions []int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range partitions {
		delete(s.partitions, topicPartition{topic, p})
	}
}

// fetched records a fetch's high watermark and, for a partition not yet
// handled from, the position the fetch resumed at.
// It returns the partition's lag, or -1 when its position is unknown.
func (s *clientState) fetched(topic string, partition int32, end, firstOffset int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.partitions[topicPartition{topic, partition}]
	if p == nil {
		return -1 // revoked meanwhile
	}
	p.end = end
	if p.stored < 0 && firstOffset >= 0 {
		p.stored = firstOffset
	}
	if p.stored < 0 {
		return -1
	}
	return p.end - p.stored
}

// stored records that offset was handled (or dead-lettered) and its offset
// stored; it returns the partition's lag, or -1 when its end is unknown.
func (s *clientState) storedOffset(topic string, partition int32, offset int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.partitions[topicPartition{topic, partition}]
	if p == nil {
		return -1
	}
	if offset+1 > p.stored {
		p.stored, p.movedAt = offset+1, time.Now()
	}
	if p.end < 0 {
		return -1
	}
	return p.end - p.stored
}

func (s *clientState) handlerStarted() {
	s.mu.Lock()
	s.inFlight = time.Now()
	s.mu.Unlock()
}

func (s *clientState) handlerDone() {
	s.mu.Lock()
	s.inFlight = time.Time{}
	s.mu.Unlock()
}

// HealthReport is the answer of a health check, served as JSON.
type HealthReport struct {
	Healthy bool              `json:"healthy"`
	Detail  string            `json:"detail"`
	Checks  map[string]string `json:"checks"`
}

func (s *clientState) live(now time.Time) (bool, string) {
	last := s.lastContact.Load()
	if last != 0 {
		ago := now.Sub(time.Unix(0, last))
		if ago < DefaultLivenessWindow {
			return true, fmt.Sprintf("a broker answered %s ago", ago.Round(time.Millisecond))
		}
		if now.Sub(s.started) < DefaultLivenessWindow {
			return true, fmt.Sprintf("started %s ago", now.Sub(s.started).Round(time.Millisecond))
		}
		return false, fmt.Sprintf("no broker answered for %s", ago.Round(time.Second))
	}
	if now.Sub(s.started) < DefaultLivenessWindow {
		return true, fmt.Sprintf("started %s ago", now.Sub(s.started).Round(time.Millisecond))
	}
	return false, "no broker answered since the start"
}

// ready reports each assigned partition's progress; any stuck one makes
// the client not ready.
func (s *clientState) ready(now time.Time, checks map[string]string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ready := true
	if !s.inFlight.IsZero() && now.Sub(s.inFlight) >= s.stuckAfter {
		checks[s.name+" handler"] = fmt.Sprintf("stuck: the handler call in flight has run for %s", now.Sub(s.inFlight).Round(time.Second))
		ready = false
	}
	for tp, p := range s.partitions {
		name := s.name + " " + tp.topic + "/" + strconv.FormatInt(int64(tp.partition), 10)
		waiting := p.end >= 0 && p.stored >= 0 && p.end > p.stored
		switch still := now.Sub(p.movedAt); {
		case waiting && still >= s.stuckAfter:
			checks[name] = fmt.Sprintf("stuck: %d records past offset %d, which has not moved for %s", p.end-p.stored, p.stored, still.Round(time.Second))
			ready = false
		case waiting:
			checks[name] = fmt.Sprintf("ok: %d records to go", p.end-p.stored)
		default:
			checks[name] = "ok: caught up"
		}
	}
	return ready
}

// HealthSource is a client the health checks can read: a *Producer or a
// *Consumer.
type HealthSource interface {
	healthState() *clientState
}

// Health serves /livez, /readyz and /metrics for clients. Its answers come
// from the state the clients keep, never from a call into the clients, so
// they arrive at once whatever the clients are doing.
type Health struct {
	sources  []HealthSource
	metrics  http.Handler
	serveMux *http.ServeMux
}

// NewHealth returns the health handler of the clients. /metrics serves the
// registries the clients were given (WithRegisterer), or
// prometheus.DefaultGatherer.
func NewHealth(clients ...HealthSource) *Health {
	var gatherers prometheus.Gatherers
	for _, c := range clients {
		if g := c.healthState().gatherer; !slices.Contains(gatherers, g) {
			gatherers = append(gatherers, g)
		}
	}
	if len(gatherers) == 0 {
		gatherers = append(gatherers, prometheus.DefaultGatherer)
	}
	h := &Health{sources: clients, metrics: promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{})}
	h.serveMux = http.NewServeMux()
	h.serveMux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) { writeReport(w, h.Livez()) })
	h.serveMux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { writeReport(w, h.Readyz()) })
	h.serveMux.Handle("/metrics", h.metrics)
	return h
}

// ServeHTTP serves /livez, /readyz and /metrics; it can be mounted in a
// service's own server.
func (h *Health) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.serveMux.ServeHTTP(w, r) }

// Livez is healthy while every client heard from a broker within the last
// 30 s, or started less than 30 s ago.
func (h *Health) Livez() HealthReport {
	now := time.Now()
	report := HealthReport{Healthy: true, Checks: map[string]string{}}
	for _, source := range h.sources {
		state := source.healthState()
		live, detail := state.live(now)
		report.Checks[state.name] = detail
		report.Healthy = report.Healthy && live
	}
	report.Detail = summary(report.Healthy, "connected", "a client has not heard from any broker for 30s")
	return report
}

// Readyz is healthy unless an assigned partition is stuck (docs/runtime.md).
func (h *Health) Readyz() HealthReport {
	now := time.Now()
	report := HealthReport{Healthy: true, Checks: map[string]string{}}
	for _, source := range h.sources {
		report.Healthy = source.healthState().ready(now, report.Checks) && report.Healthy
	}
	report.Detail = summary(report.Healthy, "no partition is stuck", "a partition is stuck")
	return report
}

func summary(healthy bool, good, bad string) string {
	if healthy {
		return good
	}
	return bad
}

func writeReport(w http.ResponseWriter, report HealthReport) {
	w.Header().Set("Content-Type", "application/json")
	if !report.Healthy {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(report)
}

// HealthServer is the HTTP server started by ServeHealth.
type HealthServer struct {
	server   *http.Server
	listener net.Listener
	done     chan error
}

// ServeHealth listens on addr ("127.0.0.1:8080", ":0" for any free port) and
// serves /livez, /readyz and /metrics for the clients until Close.
func ServeHealth(addr string, clients ...HealthSource) (*HealthServer, error) {
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, configError("cannot serve health checks on %s: %v", addr, err)
	}
	s := &HealthServer{
		server:   &http.Server{Handler: NewHealth(clients...), ReadHeaderTimeout: 5 * time.Second},
		listener: listener,
		done:     make(chan error, 1),
	}
	go func() { s.done <- s.server.Serve(listener) }()
	return s, nil
}

// Addr returns the address the server listens on.
func (s *HealthServer) Addr() net.Addr { return s.listener.Addr() }

// Close stops the server.
func (s *HealthServer) Close() error {
	err := s.server.Close()
	if serveErr := <-s.done; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}
