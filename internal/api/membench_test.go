package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"builds/internal/api"
)

// BenchmarkWorstCaseLogQueries measures the server's peak memory while 50
// anonymous clients at once send the costliest query the limits let
// through against a job with 100 tasks of 1 MiB logs: every task's tail
// plus the job's own log twice, by aliases. It reports the peak Go heap
// in use and the peak resident set (which includes the clients, who
// discard what they read).
func BenchmarkWorstCaseLogQueries(b *testing.B) {
	e, d := newLogEnv(b, api.Limits{})
	id := logJob(b, e, d, 100, 1<<20)
	q := fmt.Sprintf(`{ a: job(id: %d) { tasks { log { last128KiB } } } b: job(id: %[1]d) { log { last128KiB } } c: job(id: %[1]d) { log { last128KiB } } }`, id)
	body, _ := json.Marshal(map[string]any{"query": q})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	runtime.GC()
	resetPeakRSS()
	base := procStatus("VmRSS")
	peak := sampleMemory()
	var sent atomic.Int64
	var wg sync.WaitGroup
	var next atomic.Int64
	b.ResetTimer()
	for range 50 {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				n, err := postDiscard(client, e.srv.URL+"/query", body)
				if err != nil {
					b.Error(err)
					return
				}
				sent.Add(n)
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	heap, rss := peak()
	b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MiB")
	b.ReportMetric(float64(base)/(1<<20), "start-rss-MiB")
	b.ReportMetric(float64(sent.Load())/float64(b.N)/(1<<10), "KiB/response")
}

// postDiscard sends one anonymous GraphQL request and counts the bytes of
// its answer without keeping them.
func postDiscard(client *http.Client, url string, body []byte) (int64, error) {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		return n, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return n, err
}

// sampleMemory samples the heap in use and the resident set every few
// milliseconds until the returned function is called, which gives their
// peaks.
func sampleMemory() func() (heap, rss uint64) {
	stop := make(chan struct{})
	done := make(chan struct{})
	var peakHeap, peakRSS uint64
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapInuse)
			peakRSS = max(peakRSS, procStatus("VmRSS"), procStatus("VmHWM"))
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() (uint64, uint64) {
		close(stop)
		<-done
		return peakHeap, peakRSS
	}
}

// resetPeakRSS makes VmHWM start again from the current resident set, so
// that the setup's peak is not counted.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// procStatus reads a size field of /proc/self/status in bytes; 0 when it
// cannot.
func procStatus(field string) uint64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
