package events_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"builds/internal/build"
	"builds/internal/events"
	"builds/internal/logs"
	"builds/internal/queue"
	rq "builds/internal/queue/redis"
	"builds/internal/secretbox"
	"builds/internal/store/sqlite"
	"builds/internal/submit"
	"builds/internal/testenv"
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
	payloads := &events.Payloads{Store: st, Origin: "http://master.example"}
	p.qopts = rq.Options{Box: box, LeaseTime: lease}
	mopts := p.qopts
	mopts.Payload = payloads.Build
	if p.q, err = rq.New(p.rdb, mopts); err != nil {
		t.Fatal(err)
	}
	canceller := events.NewCanceller(p.rdb, "")
	p.svc = &submit.Service{Store: st, Queue: p.q, OnCancel: canceller.OnCancel}
	p.logs, _ = logs.Open(t.TempDir())
	ap, err := events.NewApplier(p.rdb, st, events.ApplierOptions{
		Queue: p.q, LeaseTime: lease, Logs: p.logs, Cancel: canceller.Cancel,
		OnEnd: func(_ context.Context, j *build.Job) {
			p.mu.Lock()
			defer p.mu.Unlock()
			if _, dup := p.ended[j.ID]; dup {
				t.Errorf("job %d ended twice", j.ID)
			}
			p.ended[j.ID] = j.Status
		},
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

func (p *plane) agent(t *testing.T, name string) *events.Agent {
	t.Helper()
	a, err := events.NewAgent(goredis.NewClient(p.rdb.Options()), events.AgentOptions{
		Queue: p.qopts, Name: name, Arches: []string{"amd64"}, Capacity: 2,
		LogURL: "http://" + name + "/logs/", LogDir: t.TempDir(), LogKey: events.LogKey(networkKey),
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

func takeOne(t *testing.T, a *events.Agent, name string) queue.Lease {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	l, err := a.Take(ctx, name, []string{"amd64"})
	if err != nil {
		t.Fatalf("take: %v", err)
	}
	return l
}
