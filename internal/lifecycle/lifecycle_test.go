package lifecycle_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"builds/internal/build"
	"builds/internal/inproc"
	"builds/internal/lifecycle"
	"builds/internal/logs"
	"builds/internal/metrics"
	"builds/internal/queue/local"
	"builds/internal/runner"
	"builds/internal/runner/fakeguest"
	"builds/internal/store/sqlite"
	"builds/internal/submit"
)

var storeKey = []byte("0123456789abcdef0123456789abcdef")

const twoTasks = `image: debian/bookworm
tasks:
  - build: make
  - test: make check
`

// wantSequence is what one job of twoTasks publishes, in order, on a fake
// guest (whose every answer, the check for complete-build included, is
// success, so the second task is skipped).
var wantSequence = []string{
	"job_created queued",
	"job_queued queued",
	"job_started running",
	"vm_booted",
	"task_changed build running",
	"task_changed build success",
	"task_changed test skipped",
	"job_ended success",
}

// single is a master with an in-process runner whose guests are fake.
type single struct {
	st      *sqlite.DB
	life    *lifecycle.Lifecycle
	svc     *submit.Service
	user    *build.User
	metrics *metrics.Metrics
}

func newSingle(t *testing.T, step time.Duration) *single {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "builds.db"), storeKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := logs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := &single{st: st, user: &build.User{Name: "alice", Email: "alice@example.org"}, metrics: metrics.New()}
	if err := st.CreateUser(ctx, s.user); err != nil {
		t.Fatal(err)
	}
	q := local.New(local.Options{})
	s.life = lifecycle.New(lifecycle.Options{Store: st, Queue: q, Logs: d})
	t.Cleanup(s.metrics.Follow(s.life.Bus()))
	s.svc = &submit.Service{Store: st, Life: s.life}
	r := s.newRunner(t, q, d, step)
	s.life.SetQueue(q, func(id int64) { r.Cancel(id) })
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	return s
}

func (s *single) newRunner(t *testing.T, q *local.Queue, d *logs.Dir, step time.Duration) *runner.Runner {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	g, err := fakeguest.Start(signer, step)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	link := inproc.New(s.life)
	return &runner.Runner{
		Name: "local", Source: q, Jobs: link, Reporter: link, Trace: link.Trace,
		VM: fakeguest.Booter{Server: g}, Logs: d, Signer: signer, Concurrency: 2, Arches: []string{"amd64"},
		JobURL: func(int64) string { return "http://builds.test/" },
	}
}

func (s *single) submit(t *testing.T) *build.Job {
	t.Helper()
	j, err := s.svc.Submit(t.Context(), s.user, submit.SubmitInput{Manifest: twoTasks, Execute: true})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// describe is an event as wantSequence spells it.
func describe(ev *lifecycle.Event) string {
	switch ev.Kind {
	case lifecycle.TaskChanged:
		return fmt.Sprintf("%s %s %s", ev.Kind, ev.Task, ev.TaskStatus)
	case lifecycle.VMBooted:
		return string(ev.Kind)
	case lifecycle.ArtifactAdded:
		return fmt.Sprintf("%s %s", ev.Kind, ev.Artifact.Name)
	}
	return fmt.Sprintf("%s %s", ev.Kind, ev.Status)
}

// collect reads sub until job id ends and returns its events, described.
func collect(t *testing.T, sub *lifecycle.Subscription, id int64, within time.Duration) []string {
	t.Helper()
	var got []string
	timeout := time.After(within)
	for {
		select {
		case <-sub.Ready():
		case <-timeout:
			t.Fatalf("job %d did not end within %v; events so far:\n%s", id, within, strings.Join(got, "\n"))
		}
		evs, missed := sub.Next()
		if missed {
			t.Fatalf("the subscriber missed events")
		}
		for i := range evs {
			if evs[i].JobID != id {
				continue
			}
			got = append(got, describe(&evs[i]))
			if evs[i].Kind == lifecycle.JobEnded {
				return got
			}
		}
	}
}

func checkSequence(t *testing.T, got []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(wantSequence, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantSequence, "\n"))
	}
}

func TestInProcessJobEventSequence(t *testing.T) {
	s := newSingle(t, 0)
	sub := s.life.Bus().Subscribe(0, nil)
	defer sub.Close()
	j := s.submit(t)
	checkSequence(t, collect(t, sub, j.ID, 60*time.Second))
	stored, err := s.st.Job(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != build.JobSuccess {
		t.Fatalf("stored status %s, want success", stored.Status)
	}
}

func TestInProcessBlockedSubscriberDelaysNoWrite(t *testing.T) {
	s := newSingle(t, 0)
	// One subscriber never reads; another takes one batch and then blocks
	// forever in its handler.
	idle := s.life.Bus().Subscribe(1, nil)
	defer idle.Close()
	stuck := s.life.Bus().Subscribe(1, nil)
	defer stuck.Close()
	release := make(chan struct{})
	defer close(release)
	go func() {
		<-stuck.Ready()
		stuck.Next()
		<-release
	}()
	watch := s.life.Bus().Subscribe(0, nil)
	defer watch.Close()
	j := s.submit(t)
	checkSequence(t, collect(t, watch, j.ID, 60*time.Second))
	stored, err := s.st.Job(t.Context(), j.ID)
	if err != nil || stored.Status != build.JobSuccess {
		t.Fatalf("stored job: %v, %v; want it ended with success", stored, err)
	}
	evs, missed := idle.Next()
	if !missed || len(evs) != 1 || evs[0].Kind != lifecycle.JobEnded {
		t.Fatalf("the idle subscriber holds %d events (missed %v); want only the last, and missed", len(evs), missed)
	}
}

func TestInProcessMetrics(t *testing.T) {
	s := newSingle(t, 0)
	sub := s.life.Bus().Subscribe(0, nil)
	defer sub.Close()
	j := s.submit(t)
	collect(t, sub, j.ID, 60*time.Second)
	waitMetrics(t, s.metrics, map[string]string{
		"builds_jobs_submitted_total":                         "1",
		`builds_jobs_finished_total{status="success"}`:        "1",
		"builds_jobs_queued":                                  "0",
		"builds_jobs_running":                                 "0",
		"builds_queue_wait_seconds_count":                     "1",
		"builds_vm_boot_seconds_count":                        "1",
		`builds_job_duration_seconds_count{status="success"}`: "1",
	})
}

// waitMetrics waits until the metrics show want (name -> value), as the
// metrics read events on a goroutine of their own.
func waitMetrics(t *testing.T, m *metrics.Metrics, want map[string]string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := scrape(t, m)
		bad := ""
		for k, v := range want {
			if got[k] != v {
				bad += fmt.Sprintf("%s = %q, want %q\n", k, got[k], v)
			}
		}
		if bad == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(bad)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func scrape(t *testing.T, m *metrics.Metrics) map[string]string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	out := map[string]string{}
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
			out[k] = v
		}
	}
	return out
}
