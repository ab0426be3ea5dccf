package dispatch_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"builds/internal/agent"
	"builds/internal/build"
	"builds/internal/dispatch"
	"builds/internal/lifecycle"
	"builds/internal/logs"
	"builds/internal/queue"
	rq "builds/internal/queue/redis"
	"builds/internal/secretbox"
	"builds/internal/store/sqlite"
	"builds/internal/submit"
	"builds/internal/testenv"
	"builds/internal/wire"
)

const lease = 2 * time.Second

var networkKey = []byte("0123456789abcdef0123456789abcdef")

// plane is a master (store, submit service, applier) and the shared Redis.
type plane struct {
	rdb   *goredis.Client
	st    *sqlite.DB
	svc   *submit.Service
	q     *rq.Queue
	qopts rq.Options
	user  *build.User
	logs  *logs.Dir
	mu    sync.Mutex
	ended map[int64]build.JobStatus
}

func newPlane(t *testing.T) *plane {
	t.Helper()
	addr := testenv.Redis(t)
	p := &plane{ended: map[int64]build.JobStatus{}}
	p.rdb = goredis.NewClient(&goredis.Options{Addr: addr})
	t.Cleanup(func() { p.rdb.Close() })
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "builds.db"), networkKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	p.st = st
	p.user = &build.User{Name: "alice", Email: "alice@example.org"}
	if err := st.CreateUser(ctx, p.user); err != nil {
		t.Fatal(err)
	}
	box, _ := secretbox.New(networkKey)
	payloads := &dispatch.Payloads{Store: st, Origin: "http://master.example"}
	p.qopts = rq.Options{Box: box, LeaseTime: lease}
	mopts := p.qopts
	mopts.Payload = payloads.Build
	if p.q, err = rq.New(p.rdb, mopts); err != nil {
		t.Fatal(err)
	}
	canceller := dispatch.NewCanceller(p.rdb, "")
	p.logs, _ = logs.Open(t.TempDir())
	life := lifecycle.New(lifecycle.Options{Store: st, Queue: p.q, OnCancel: canceller.OnCancel, Logs: p.logs})
	p.svc = &submit.Service{Store: st, Life: life}
	onEnded(t, life.Bus(), func(j *build.Job) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if _, dup := p.ended[j.ID]; dup {
			t.Errorf("job %d ended twice", j.ID)
		}
		p.ended[j.ID] = j.Status
	})
	ap, err := dispatch.NewApplier(p.rdb, life, dispatch.ApplierOptions{
		Queue: p.q, LeaseTime: lease, Cancel: canceller.Cancel,
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ap.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	return p
}

const manifestYAML = `image: debian/bookworm
secrets:
  - deploy-key
tasks:
  - build: echo hi
  - test: echo ok
`

func (p *plane) submit(t *testing.T, vis build.Visibility) *build.Job {
	t.Helper()
	j, err := p.svc.Submit(t.Context(), p.user, submit.SubmitInput{
		Manifest: manifestYAML, Execute: true, Secrets: true, Visibility: vis,
	})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (p *plane) agent(t *testing.T, name string) *agent.Agent {
	t.Helper()
	a, err := agent.NewAgent(goredis.NewClient(p.rdb.Options()), agent.AgentOptions{
		Queue: p.qopts, Name: name, Arches: []string{"amd64"}, Capacity: 2,
		LogURL: "http://" + name + "/logs/", LogDir: t.TempDir(), LogKey: wire.LogKey(networkKey),
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// waitJob waits until the job's status is want.
func (p *plane) waitJob(t *testing.T, id int64, want build.JobStatus, within time.Duration) *build.Job {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		j, err := p.st.Job(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status == want {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %s after %v, want %s", id, j.Status, within, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *plane) addSecret(t *testing.T) {
	t.Helper()
	s := &build.Secret{OwnerID: p.user.ID, Name: "deploy-key", Kind: build.SecretFile, Path: "~/.key", Mode: 0o600, Data: []byte("s3cr3t")}
	if err := p.st.CreateSecret(t.Context(), s); err != nil {
		t.Fatal(err)
	}
}

func takeOne(t *testing.T, a *agent.Agent, name string) queue.Lease {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	l, err := a.Take(ctx, name, []string{"amd64"})
	if err != nil {
		t.Fatalf("take: %v", err)
	}
	return l
}

// onEnded calls fn with each job that ends, until the test ends.
func onEnded(t *testing.T, bus *lifecycle.Bus, fn func(*build.Job)) {
	sub := bus.Subscribe(0, func(ev *lifecycle.Event) bool { return ev.Kind == lifecycle.JobEnded })
	exited := make(chan struct{})
	t.Cleanup(func() { sub.Close(); <-exited })
	go func() {
		defer close(exited)
		for range sub.Ready() {
			evs, _ := sub.Next()
			for _, ev := range evs {
				fn(ev.Job)
			}
		}
	}()
}
