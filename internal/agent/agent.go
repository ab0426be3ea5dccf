package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"builds/internal/build"
	"builds/internal/queue"
	rq "builds/internal/queue/redis"
	"builds/internal/runner"
	"builds/internal/wire"
)

// AgentOptions configure a runner's Agent.
type AgentOptions struct {
	Queue    rq.Options // Box, Prefix and LeaseTime; Payload is unused
	Name     string     // the runner's name, as jobs record it
	Arches   []string
	Capacity int    // jobs at once, for the registry
	LogURL   string // base URL of the runner's /logs/, e.g. http://host:8081/logs/
	// LogDir is the runner's log directory; the agent keeps there which
	// jobs' logs are public, so that it still knows after a restart.
	LogDir string
	// LogKey verifies the tokens the master signs for reading private
	// logs (see LogKey); nil accepts none.
	LogKey []byte
}

// Agent is a runner's end of the control plane. It implements
// queue.Source, runner.JobLoader and runner.Reporter; Run keeps the
// runner registered and applies cancels. It is safe for concurrent use.
type Agent struct {
	rdb  goredis.UniversalClient
	src  *rq.Source
	opts AgentOptions

	mu     sync.Mutex
	jobs   map[int64]*heldJob
	public map[int64]bool
	cancel func(jobID int64) bool // set by Run
	boots  sync.Map               // job ID -> when its VM booted
}

// heldJob is a job the runner holds a lease on.
type heldJob struct {
	lease   *rq.Lease
	payload wire.Payload
	mu      sync.Mutex // orders this job's events
	seq     uint64
}

var (
	_ queue.Source     = (*Agent)(nil)
	_ runner.JobLoader = (*Agent)(nil)
	_ runner.Reporter  = (*Agent)(nil)
)

// NewAgent returns the agent of runner opts.Name on the shared Redis rdb.
func NewAgent(rdb goredis.UniversalClient, opts AgentOptions) (*Agent, error) {
	if opts.Name == "" {
		return nil, errors.New("agent: the runner needs a name")
	}
	src, err := rq.NewSource(rdb, opts.Queue)
	if err != nil {
		return nil, err
	}
	if opts.Queue.Prefix == "" {
		opts.Queue.Prefix = rq.DefaultPrefix
	}
	if opts.Queue.LeaseTime <= 0 {
		opts.Queue.LeaseTime = rq.DefaultLeaseTime
	}
	return &Agent{rdb: rdb, src: src, opts: opts, jobs: map[int64]*heldJob{}, public: map[int64]bool{}}, nil
}

// HeartbeatInterval is how often the runner should renew its leases.
func (a *Agent) HeartbeatInterval() time.Duration { return a.opts.Queue.LeaseTime / 4 }

// Take takes the next job for arches from the queue. runner must be the
// agent's name.
func (a *Agent) Take(ctx context.Context, runnerName string, arches []string) (queue.Lease, error) {
	if runnerName != a.opts.Name {
		return nil, fmt.Errorf("agent of %s asked to take for %s", a.opts.Name, runnerName)
	}
	for {
		l, err := a.src.Take(ctx, runnerName, arches)
		if err != nil {
			return nil, err
		}
		lease := l.(*rq.Lease)
		var p wire.Payload
		if err := json.Unmarshal(lease.Payload(), &p); err != nil {
			slog.Error("agent: job payload unreadable; dropping the job", "job", lease.Item().JobID, "err", err)
			lease.Done(ctx)
			continue
		}
		a.hold(lease, p)
		return &agentLease{Lease: lease, a: a}, nil
	}
}

func (a *Agent) hold(lease *rq.Lease, p wire.Payload) {
	id := lease.Item().JobID
	a.mu.Lock()
	a.jobs[id] = &heldJob{lease: lease, payload: p}
	a.public[id] = p.Public()
	a.mu.Unlock()
	if a.opts.LogDir != "" {
		a.persistVisibility(id, p.Public())
	}
}

// persistVisibility writes (or removes) the marker of a public job's logs.
func (a *Agent) persistVisibility(id int64, public bool) {
	marker := filepath.Join(a.opts.LogDir, strconv.FormatInt(id, 10), ".public")
	if !public {
		os.Remove(marker)
		return
	}
	err := os.MkdirAll(filepath.Dir(marker), 0o755)
	if err == nil {
		err = os.WriteFile(marker, nil, 0o644)
	}
	if err != nil {
		slog.Warn("agent: record that a job's logs are public", "job", id, "err", err)
	}
}

func (a *Agent) held(id int64) *heldJob {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.jobs[id]
}

func (a *Agent) forget(id int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.jobs, id)
}

// Held returns the IDs of the jobs the agent holds leases on.
func (a *Agent) Held() []int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	ids := make([]int64, 0, len(a.jobs))
	for id := range a.jobs {
		ids = append(ids, id)
	}
	return ids
}

// agentLease forgets the job once done and stops it when the lease is lost.
type agentLease struct {
	*rq.Lease
	a *Agent
}

func (l *agentLease) Heartbeat(ctx context.Context) error {
	err := l.Lease.Heartbeat(ctx)
	if errors.Is(err, rq.ErrLeaseLost) {
		slog.Error("agent: lease lost; stopping the job", "job", l.Item().JobID)
		l.a.cancelJob(l.Item().JobID)
	}
	return err
}

func (l *agentLease) Done(ctx context.Context) error {
	defer l.a.forget(l.Item().JobID)
	return l.Lease.Done(ctx)
}

// Load returns the work of a job the agent holds.
func (a *Agent) Load(_ context.Context, jobID int64) (*runner.Work, error) {
	h := a.held(jobID)
	if h == nil {
		return nil, build.Errorf(build.ENOTFOUND, "runner %s holds no job %d", a.opts.Name, jobID)
	}
	return work(&h.payload), nil
}

// JobURL returns the web address of a held job ("" for others).
func (a *Agent) JobURL(jobID int64) string {
	if h := a.held(jobID); h != nil {
		return h.payload.JobURL
	}
	return ""
}
