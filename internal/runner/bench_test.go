package runner_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"builds/internal/build"
	"builds/internal/runner"
)

// tracer records when each event of each job happened.
type tracer struct {
	mu sync.Mutex
	at map[int64]map[runner.Event]time.Time
}

func newTracer(e *env) *tracer {
	tr := &tracer{at: map[int64]map[runner.Event]time.Time{}}
	e.r.Trace = func(id int64, ev runner.Event) {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		if tr.at[id] == nil {
			tr.at[id] = map[runner.Event]time.Time{}
		}
		tr.at[id][ev] = time.Now()
	}
	return tr
}

func (tr *tracer) get(id int64, ev runner.Event) time.Time {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.at[id][ev]
}

var errSeen = errors.New("seen")

// firstOutput returns when the first byte of the task's log was written.
func firstOutput(ctx context.Context, e *env, id int64, task string) (time.Time, error) {
	var at time.Time
	err := e.r.Logs.Follow(ctx, id, task, 0, func([]byte) error {
		at = time.Now()
		return errSeen
	})
	if !errors.Is(err, errSeen) {
		return at, fmt.Errorf("follow task log: %v", err)
	}
	return at, nil
}

// benchSetup measures, per job: pickup to first task output, and the
// setup overhead from the guest answering SSH to the first task starting
// and to its first output.
func benchSetup(b *testing.B, e *env, firstID int64) {
	tr := newTracer(e)
	e.start()
	var pickup, setup, setupOut time.Duration
	id := firstID
	for b.Loop() {
		id++
		got := make(chan time.Time, 1)
		go func() {
			at, err := firstOutput(b.Context(), e, id, "hello")
			if err != nil {
				b.Error(err)
			}
			got <- at
		}()
		e.submit(id, "image: debian/bookworm\ntasks:\n  - hello: echo hello\n")
		if s := e.wait(id, vmWait); s != build.JobSuccess {
			b.Fatalf("job ended %s; log:\n%s", s, e.log(id, ""))
		}
		out := <-got
		pickup += out.Sub(tr.get(id, runner.EventTaken))
		setup += tr.get(id, runner.EventTaskStart).Sub(tr.get(id, runner.EventConnected))
		setupOut += out.Sub(tr.get(id, runner.EventConnected))
	}
	n := float64(b.N)
	b.ReportMetric(float64(pickup.Milliseconds())/n, "ms-pickup-to-output")
	b.ReportMetric(float64(setup.Microseconds())/1000/n, "ms-ssh-to-task")
	b.ReportMetric(float64(setupOut.Microseconds())/1000/n, "ms-ssh-to-output")
}

// BenchmarkSetupFakeGuest is the setup overhead against a host sshd: the
// runner's own cost, with no VM in the way.
func BenchmarkSetupFakeGuest(b *testing.B) {
	benchSetup(b, newEnv(b), 1000)
}

// BenchmarkSetupVM is the same with real VMs (cold boots): run it with
// -benchtime=1x or 2x.
func BenchmarkSetupVM(b *testing.B) {
	e, _, _ := newVMEnv(b)
	benchSetup(b, e, 2000)
}

// benchThroughput runs a task printing size bytes and reports the rate
// from the task's start to the last write of its log on disk (the log
// file's modification time): the job's end, package of artifacts and VM
// cleanup are not part of it.
func benchThroughput(b *testing.B, e *env, firstID int64, size int) {
	tr := newTracer(e)
	e.start()
	id := firstID
	var total time.Duration
	script := fmt.Sprintf("image: debian/bookworm\ntasks:\n  - flood: |\n      set +x\n      yes 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyzABCDEF | head -c %d\n", size)
	for b.Loop() {
		id++
		e.submit(id, script)
		if s := e.wait(id, vmWait); s != build.JobSuccess {
			b.Fatalf("job ended %s; log:\n%s", s, e.log(id, ""))
		}
		got := len(e.log(id, "flood"))
		if got < size {
			b.Fatalf("task log holds %d bytes, want at least %d", got, size)
		}
		fi, err := os.Stat(filepath.Join(e.logDir, fmt.Sprint(id), "flood", "log"))
		if err != nil {
			b.Fatal(err)
		}
		total += fi.ModTime().Sub(tr.get(id, runner.EventTaskStart))
	}
	b.SetBytes(int64(size))
	b.ReportMetric(float64(size)*float64(b.N)/total.Seconds()/1e6, "MB/s-guest-to-disk")
}

func BenchmarkLogThroughputFakeGuest(b *testing.B) {
	benchThroughput(b, newEnv(b), 3000, 100<<20)
}

func BenchmarkLogThroughputVM(b *testing.B) {
	e, _, _ := newVMEnv(b)
	benchThroughput(b, e, 4000, 100<<20)
}

// BenchmarkLiveLogLatency has a task print its clock every 50 ms and a
// live reader of the task's log compare it with its own: the fake guest
// shares the host's clock, so this is the whole path from a write in the
// guest, over SSH, through the redacting log writer, to a follower.
func BenchmarkLiveLogLatency(b *testing.B) {
	e := newEnv(b)
	e.start()
	const lines = 40
	var sum, worst time.Duration
	var count int
	id := int64(5000)
	for b.Loop() {
		id++
		e.submit(id, fmt.Sprintf("image: debian/bookworm\ntasks:\n  - tick: |\n      set +x\n      for i in $(seq %d); do echo \"T $(date +%%s%%N)\"; sleep 0.05; done\n", lines))
		var partial string
		err := e.r.Logs.Follow(b.Context(), id, "tick", 0, func(p []byte) error {
			now := time.Now()
			partial += string(p)
			for {
				line, rest, ok := strings.Cut(partial, "\n")
				if !ok {
					return nil
				}
				partial = rest
				ns, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(line, "T ")), 10, 64)
				if err != nil {
					continue
				}
				d := now.Sub(time.Unix(0, ns))
				sum += d
				count++
				worst = max(worst, d)
			}
		})
		if err != nil {
			b.Fatal(err)
		}
		e.wait(id, time.Minute)
	}
	if count == 0 {
		b.Fatal("no lines seen")
	}
	b.ReportMetric(float64(sum.Microseconds())/1000/float64(count), "ms-mean-latency")
	b.ReportMetric(float64(worst.Microseconds())/1000, "ms-worst-latency")
}
