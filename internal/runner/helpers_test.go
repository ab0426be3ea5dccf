package runner_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"builds/internal/build"
	"builds/internal/guest/sshdtest"
	"builds/internal/logs"
	"builds/internal/queue"
	"builds/internal/runner"
)

// memSource is an in-memory queue: Put hands an item to the next Take.
type memSource struct {
	ch      chan queue.Item
	mu      sync.Mutex
	done    []int64
	started []int64
	lost    bool // heartbeats fail with errLost
}

var errLost = errors.New("lease lost")

func newSource() *memSource { return &memSource{ch: make(chan queue.Item, 16)} }

func (s *memSource) Put(id int64) { s.ch <- queue.Item{JobID: id, Enqueued: time.Now()} }

func (s *memSource) Take(ctx context.Context, _ string, _ []string) (queue.Lease, error) {
	select {
	case it := <-s.ch:
		return &memLease{s: s, it: it}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type memLease struct {
	s  *memSource
	it queue.Item
}

func (l *memLease) Item() queue.Item { return l.it }
func (l *memLease) Heartbeat(ctx context.Context) error {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if l.s.lost {
		return errLost
	}
	return nil
}

func (l *memLease) Started(ctx context.Context) error {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	l.s.started = append(l.s.started, l.it.JobID)
	return nil
}
func (l *memLease) Done(ctx context.Context) error {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	l.s.done = append(l.s.done, l.it.JobID)
	return nil
}

// recorder keeps every report, checking each transition as the store would.
type recorder struct {
	mu        sync.Mutex
	jobs      map[int64]build.JobStatus
	tasks     map[string]build.TaskStatus // "job/task"
	history   map[int64][]string
	artifacts []*build.Artifact
	final     map[int64]chan build.JobStatus
	bad       []string
}

func newRecorder() *recorder {
	return &recorder{
		jobs: map[int64]build.JobStatus{}, tasks: map[string]build.TaskStatus{},
		history: map[int64][]string{}, final: map[int64]chan build.JobStatus{},
	}
}

func (r *recorder) finalCh(id int64) chan build.JobStatus {
	if r.final[id] == nil {
		r.final[id] = make(chan build.JobStatus, 1)
	}
	return r.final[id]
}

func (r *recorder) JobStatus(_ context.Context, id int64, s build.JobStatus, runnerName string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.jobs[id]
	if old == "" {
		old = build.JobQueued
	}
	if err := old.CheckTransition(s); err != nil {
		r.bad = append(r.bad, fmt.Sprintf("job %d: %v", id, err))
		return err
	}
	r.jobs[id] = s
	r.history[id] = append(r.history[id], "job:"+string(s))
	if s.Terminal() {
		r.finalCh(id) <- s
	}
	return nil
}

func (r *recorder) TaskStatus(_ context.Context, id int64, task string, s build.TaskStatus) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := fmt.Sprintf("%d/%s", id, task)
	old := r.tasks[key]
	if old == "" {
		old = build.TaskPending
	}
	if err := old.CheckTransition(s); err != nil {
		r.bad = append(r.bad, fmt.Sprintf("task %s: %v", key, err))
		return err
	}
	r.tasks[key] = s
	r.history[id] = append(r.history[id], task+":"+string(s))
	return nil
}

func (r *recorder) Artifact(_ context.Context, a *build.Artifact) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.artifacts = append(r.artifacts, a)
	return nil
}

func (r *recorder) task(id int64, name string) build.TaskStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.tasks[fmt.Sprintf("%d/%s", id, name)]; s != "" {
		return s
	}
	return build.TaskPending
}

// loader serves jobs from a map.
type loader struct {
	mu   sync.Mutex
	work map[int64]*runner.Work
}

func (l *loader) set(id int64, w *runner.Work) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.work[id] = w
}

func (l *loader) Load(_ context.Context, id int64) (*runner.Work, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.work[id]
	switch {
	case !ok:
		return nil, build.Errorf(build.ENOTFOUND, "no job %d", id)
	case w == nil:
		return nil, errors.New("the database is down")
	}
	return w, nil
}

// sshdBooter "boots" a fake guest: an sshd that looks like a build VM.
// Boot waits BootDelay (or until ctx ends) to play a booting VM.
type sshdBooter struct {
	g         *sshdtest.Guest
	BootDelay time.Duration
	mu        sync.Mutex
	booting   int // Boot calls so far
	booted    int
	cleaned   int
}

func (b *sshdBooter) Boot(ctx context.Context, image, arch string) (runner.VM, error) {
	b.mu.Lock()
	b.booting++
	b.mu.Unlock()
	select {
	case <-time.After(b.BootDelay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.booted++
	return &sshdVM{b: b}, nil
}

// inBoot reports how many Boot calls have started and not returned a VM.
func (b *sshdBooter) inBoot() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.booting - b.booted
}

func (b *sshdBooter) counts() (booted, cleaned int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.booted, b.cleaned
}

type sshdVM struct{ b *sshdBooter }

func (v *sshdVM) Addr() string { return v.b.g.Addr }
func (v *sshdVM) Cleanup(context.Context) error {
	v.b.mu.Lock()
	defer v.b.mu.Unlock()
	v.b.cleaned++
	return nil
}

// env is one runner wired to a fake guest.
type env struct {
	t      testing.TB
	g      *sshdtest.Guest
	src    *memSource
	rec    *recorder
	jobs   *loader
	booter *sshdBooter
	// vmCounts reports how many VMs were booted and cleaned up.
	vmCounts func() (booted, cleaned int)
	r        *runner.Runner
	logDir   string
	cancel   context.CancelFunc
	ran      chan error
}

func newEnv(t testing.TB) *env {
	t.Helper()
	g := sshdtest.Start(t)
	e := newBareEnv(t)
	e.g, e.booter = g, &sshdBooter{g: g}
	e.vmCounts = e.booter.counts
	e.r.VM, e.r.Signer = e.booter, g.Signer
	return e
}

// newBareEnv is an env whose runner still lacks VM and Signer.
func newBareEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, src: newSource(), rec: newRecorder(), jobs: &loader{work: map[int64]*runner.Work{}}}
	e.logDir = t.TempDir()
	dir, err := logs.Open(e.logDir)
	if err != nil {
		t.Fatal(err)
	}
	e.r = &runner.Runner{
		Name: "test-runner", Source: e.src, Reporter: e.rec, Jobs: e.jobs,
		Logs: dir, Concurrency: 2, SetupTimeout: 20 * time.Second,
		JobURL:       func(id int64) string { return fmt.Sprintf("http://builds.test/~u/job/%d", id) },
		ArtifactsDir: t.TempDir(),
	}
	return e
}

// start runs the runner until the test ends.
func (e *env) start() {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.ran = make(chan error, 1)
	go func() { e.ran <- e.r.Run(ctx) }()
	e.t.Cleanup(func() {
		e.r.Drain()
		cancel()
		<-e.ran
	})
}

// submit queues a job with the given manifest and secrets.
func (e *env) submit(id int64, manifest string, secrets ...build.Secret) {
	e.jobs.set(id, &runner.Work{Manifest: manifest, Owner: "alice", Secrets: secrets})
	e.src.Put(id)
}

// wait returns the job's final status. It gives up a minute before the
// test binary's deadline, so that a failing test still cleans up its VMs
// instead of being killed with them running.
func (e *env) wait(id int64, within time.Duration) build.JobStatus {
	e.t.Helper()
	if dl, ok := e.t.(interface{ Deadline() (time.Time, bool) }); ok {
		if d, ok := dl.Deadline(); ok {
			within = min(within, time.Until(d)-time.Minute)
		}
	}
	e.rec.mu.Lock()
	ch := e.rec.finalCh(id)
	e.rec.mu.Unlock()
	select {
	case s := <-ch:
		ch <- s
		return s
	case <-time.After(within):
		e.t.Fatalf("job %d did not end within %v; log:\n%s", id, within, e.log(id, ""))
	}
	return ""
}

func (e *env) log(id int64, task string) string {
	p := filepath.Join(e.logDir, fmt.Sprint(id), "log")
	if task != "" {
		p = filepath.Join(e.logDir, fmt.Sprint(id), task, "log")
	}
	b, _ := os.ReadFile(p)
	return string(b)
}

func (e *env) checkLog(id int64, task string, want ...string) {
	e.t.Helper()
	got := e.log(id, task)
	for _, w := range want {
		if !strings.Contains(got, w) {
			e.t.Errorf("log %d/%s lacks %q; it holds:\n%s", id, task, w, got)
		}
	}
}

func (e *env) checkTasks(id int64, want map[string]build.TaskStatus) {
	e.t.Helper()
	for name, s := range want {
		if got := e.rec.task(id, name); got != s {
			e.t.Errorf("task %s is %s, want %s", name, got, s)
		}
	}
}

func (e *env) checkClean() {
	e.t.Helper()
	e.rec.mu.Lock()
	bad := slices.Clone(e.rec.bad)
	e.rec.mu.Unlock()
	for _, b := range bad {
		e.t.Errorf("bad transition: %s", b)
	}
	booted, cleaned := e.vmCounts()
	if booted != cleaned {
		e.t.Errorf("%d VMs booted, %d cleaned up", booted, cleaned)
	}
}
