// Command loadgen is a lean gRPC load generator for benchmarks/ (what pgbench is to
// PostgreSQL): it sends requests the benchmark serialized beforehand, as raw bytes with no
// protobuf work, each request exactly once, and reports what it measured as one JSON line.
//
// Why not Python: a grpc.aio client spends about as much CPU per call as the server does,
// and on a small machine that CPU is taken from the server under test. (Node's grpc-js was
// tried too: 300-600 us of CPU per call.)
//
//	loadgen -target 127.0.0.1:50051 -method /pkg.Service/Method -requests FILE -key KEY \
//	  [-concurrency 32] [-channels 4] [-warmup 2s] [-seconds 6s]
//
// FILE holds the requests as (4-byte big-endian length, bytes) frames. It prints
// "measuring" when the measured window opens, "measured" when it closes and then
// {"done", "elapsed", "cpu_us", "errors", "first_error", "ran_out", "p50_ms", "p99_ms"}.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// rawCodec passes pre-serialized messages through untouched.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	*(v.(*[]byte)) = data
	return nil
}
func (rawCodec) Name() string { return "proto" }

func frames(path string) [][]byte {
	data, err := os.ReadFile(path)
	if err != nil {
		fail(err)
	}
	var out [][]byte
	for at := 0; at < len(data); {
		size := int(binary.BigEndian.Uint32(data[at:]))
		out = append(out, data[at+4:at+4+size])
		at += 4 + size
	}
	return out
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(2)
}

func cpuMicros() int64 {
	var usage syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	return usage.Utime.Nano()/1000 + usage.Stime.Nano()/1000
}

func main() {
	target := flag.String("target", "", "host:port")
	method := flag.String("method", "", "/package.Service/Method")
	path := flag.String("requests", "", "file of length-prefixed serialized requests")
	key := flag.String("key", "", "API key (sent as a Bearer token)")
	concurrency := flag.Int("concurrency", 32, "calls in flight")
	channels := flag.Int("channels", 4, "connections")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured time first")
	seconds := flag.Duration("seconds", 6*time.Second, "measured window")
	flag.Parse()

	requests := frames(*path)
	conns := make([]*grpc.ClientConn, *channels)
	for i := range conns {
		conn, err := grpc.Dial(*target, grpc.WithInsecure(),
			grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
		if err != nil {
			fail(err)
		}
		conns[i] = conn
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+*key)

	var next, done, errors int64
	var counting, stopped int32
	var firstError atomic.Value
	latencies := make([][]float64, *concurrency)
	var wg sync.WaitGroup
	for w := 0; w < *concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			conn := conns[w%len(conns)]
			for atomic.LoadInt32(&stopped) == 0 {
				i := atomic.AddInt64(&next, 1) - 1
				if i >= int64(len(requests)) {
					return
				}
				var reply []byte
				began := time.Now()
				callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
				err := conn.Invoke(callCtx, *method, &requests[i], &reply)
				cancel()
				if atomic.LoadInt32(&counting) == 0 {
					continue
				}
				if err != nil {
					atomic.AddInt64(&errors, 1)
					firstError.CompareAndSwap(nil, err.Error())
					continue
				}
				atomic.AddInt64(&done, 1)
				latencies[w] = append(latencies[w], float64(time.Since(began))/1e6)
			}
		}(w)
	}
	time.Sleep(*warmup)
	atomic.StoreInt32(&counting, 1)
	fmt.Println("measuring")
	began, cpu := time.Now(), cpuMicros()
	time.Sleep(*seconds)
	atomic.StoreInt32(&counting, 0)
	elapsed, used := time.Since(began).Seconds(), cpuMicros()-cpu
	measured := atomic.LoadInt64(&done)
	fmt.Println("measured")
	ranOut := atomic.LoadInt64(&next) >= int64(len(requests))
	atomic.StoreInt32(&stopped, 1)
	wg.Wait()
	for _, conn := range conns {
		conn.Close()
	}
	var all []float64
	for _, l := range latencies {
		all = append(all, l...)
	}
	sort.Float64s(all)
	at := func(q float64) float64 {
		if len(all) == 0 {
			return 0
		}
		i := int(float64(len(all)) * q)
		if i >= len(all) {
			i = len(all) - 1
		}
		return all[i]
	}
	first, _ := firstError.Load().(string)
	report, _ := json.Marshal(map[string]interface{}{
		"done": measured, "elapsed": elapsed, "cpu_us": used, "errors": atomic.LoadInt64(&errors),
		"first_error": first, "ran_out": ranOut, "p50_ms": at(0.5), "p99_ms": at(0.99),
	})
	fmt.Println(string(report))
}
