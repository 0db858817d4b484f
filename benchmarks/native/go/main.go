// Command bench runs one contender of benchmarks/sdk_native.py once and
// prints its figures as one JSON line: {"records": n, "wall": s, "cpu": s}.
// The Python side alternates the contenders over several rounds and takes
// medians, so each run is a fresh process with fresh clients, and the
// timing starts once the client is connected (producers) or the group is
// joined and records flow (consumers), as in benchmarks/sdk.py.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

// settings are the command line: which contender, where, how many records.
type settings struct {
	mode        string
	bootstrap   []string
	topic       string
	records     int
	group       string
	concurrency int
	batchSize   int
	handlerCost time.Duration // per handler call
	cpuProfile  string
}

// contenders maps -mode to the run it measures.
var contenders = map[string]func(context.Context, settings) (run, error){
	"produce-typed":   produceTyped,
	"produce-raw":     produceRaw,
	"send-typed":      sendTyped,
	"send-raw":        sendRaw,
	"consume-record":  consumeRecords,
	"consume-batch":   consumeBatches,
	"fill":            fill,
	"calibrate-sleep": calibrateSleep,
}

func main() {
	var s settings
	var bootstrap string
	flag.StringVar(&s.mode, "mode", "", "contender: "+strings.Join(modeNames(), ", "))
	flag.StringVar(&bootstrap, "bootstrap", os.Getenv("KAFKA_BOOTSTRAP_SERVERS"), "host:port[,host:port]")
	flag.StringVar(&s.topic, "topic", "", "topic (bound to audit.v1.AuditEvent like topics.AuditEventsV1)")
	flag.IntVar(&s.records, "records", 100_000, "records to produce, or to consume after the first handler call")
	flag.StringVar(&s.group, "group", "", "consumer group (consume modes)")
	flag.IntVar(&s.concurrency, "concurrency", 64, "goroutines calling Send / ProduceSync (send modes)")
	flag.IntVar(&s.batchSize, "batch-size", 500, "records per batch (consume-batch)")
	handlerCostMicros := flag.Int("handler-cost-us", 0, "simulated downstream round trip per handler call, in µs")
	flag.StringVar(&s.cpuProfile, "cpuprofile", "", "write a pprof CPU profile of the timed part to this file")
	flag.Parse()
	s.handlerCost = time.Duration(*handlerCostMicros) * time.Microsecond
	s.bootstrap = strings.Split(bootstrap, ",")
	measure, ok := contenders[s.mode]
	if !ok || (bootstrap == "" && s.mode != "calibrate-sleep") {
		fmt.Fprintf(os.Stderr, "usage: bench -mode {%s} -bootstrap host:port -topic name ...\n", strings.Join(modeNames(), ","))
		os.Exit(2)
	}
	result, err := measure(context.Background(), s)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench %s: %v\n", s.mode, err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(result); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func modeNames() []string {
	names := make([]string, 0, len(contenders))
	for name := range contenders {
		names = append(names, name)
	}
	return names
}

// run is what one contender did: records in wall seconds, using cpu
// seconds of process CPU (every thread, user + system).
type run struct {
	Records int     `json:"records"`
	Wall    float64 `json:"wall"`
	CPU     float64 `json:"cpu"`
	Allocs  uint64  `json:"allocs"` // heap allocations in the process, every goroutine
}

// stopwatch times a part of the process, and profiles it when asked.
type stopwatch struct {
	wall    time.Time
	cpu     time.Duration
	allocs  uint64
	profile *os.File
}

func startWatch(s settings) (*stopwatch, error) {
	w := &stopwatch{}
	if s.cpuProfile != "" {
		file, err := os.Create(s.cpuProfile)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(file); err != nil {
			return nil, err
		}
		w.profile = file
	}
	w.allocs = heapAllocations()
	w.wall, w.cpu = time.Now(), processCPU()
	return w, nil
}

func (w *stopwatch) stop(records int) run {
	r := run{Records: records, Wall: time.Since(w.wall).Seconds(), CPU: (processCPU() - w.cpu).Seconds()}
	r.Allocs = heapAllocations() - w.allocs
	if w.profile != nil {
		pprof.StopCPUProfile()
		_ = w.profile.Close()
	}
	return r
}

func heapAllocations() uint64 {
	var stats runtime.MemStats
	runtime.ReadMemStats(&stats)
	return stats.Mallocs
}

func processCPU() time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		panic(err)
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

// calibrateSleep reports what the simulated downstream call really takes.
func calibrateSleep(_ context.Context, s settings) (run, error) {
	const calls = 200
	watch, err := startWatch(s)
	if err != nil {
		return run{}, err
	}
	for range calls {
		downstream(s.handlerCost)
	}
	return watch.stop(calls), nil
}
