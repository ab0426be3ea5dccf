package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Cancel keys outlive any lease, so a runner that was cut off from Redis
// during the publish still finds the cancel when it checks.
const cancelTTL = 24 * time.Hour

// cancelPoll is how often a runner checks its jobs' cancel keys, should it
// have missed the published message.
const cancelPoll = 2 * time.Second

// registryInterval is how often a runner renews its registration, which
// expires after three missed renewals.
const registryInterval = 5 * time.Second

func (a *Agent) cancelKey(jobID int64) string {
	return a.opts.Queue.Prefix + "cancel:" + itoa(jobID)
}

// Canceller is the master's side of cancels. It is safe for concurrent use.
type Canceller struct {
	rdb    goredis.UniversalClient
	prefix string
}

// NewCanceller returns a Canceller on the shared Redis; prefix is the
// queue's (rq.DefaultPrefix when empty).
func NewCanceller(rdb goredis.UniversalClient, prefix string) *Canceller {
	return &Canceller{rdb: rdb, prefix: orPrefix(prefix)}
}

// Cancel tells whichever runner holds the job to cancel it. The runner
// acts within a second or two; a runner that has not started the job yet
// refuses to start it.
func (c *Canceller) Cancel(ctx context.Context, jobID int64) error {
	id := itoa(jobID)
	_, err := c.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Set(ctx, c.prefix+"cancel:"+id, "1", cancelTTL)
		p.Publish(ctx, c.prefix+"cancel", id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("cancel job %d: %w", jobID, err)
	}
	return nil
}

// OnCancel adapts Cancel to submit.Service's OnCancel hook, logging errors.
func (c *Canceller) OnCancel(jobID int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Cancel(ctx, jobID); err != nil {
		slog.Error("tell runners to cancel", "job", jobID, "err", err)
	}
}

func orPrefix(p string) string {
	if p == "" {
		return "builds:"
	}
	return p
}

// RunnerInfo is a live runner's registration.
type RunnerInfo struct {
	Name     string    `json:"name"`
	Arches   []string  `json:"arches"`
	Capacity int       `json:"capacity"`
	Running  []int64   `json:"running"`
	LogURL   string    `json:"log_url"`
	Draining bool      `json:"draining,omitempty"`
	Started  time.Time `json:"started"`
	Seen     time.Time `json:"seen"`
}

// Runners lists the runners registered on the shared Redis, by name.
// prefix is the queue's (rq.DefaultPrefix when empty).
func Runners(ctx context.Context, rdb goredis.UniversalClient, prefix string) ([]RunnerInfo, error) {
	prefix = orPrefix(prefix)
	var keys []string
	iter := rdb.Scan(ctx, 0, prefix+"runner:*", 100).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("list runners: %w", err)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	vals, err := rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("read runners: %w", err)
	}
	var out []RunnerInfo
	for _, v := range vals {
		s, ok := v.(string)
		var ri RunnerInfo
		if ok && json.Unmarshal([]byte(s), &ri) == nil {
			out = append(out, ri)
		}
	}
	slices.SortFunc(out, func(a, b RunnerInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Control is what the agent needs from the runner it serves.
type Control struct {
	Cancel   func(jobID int64) bool // stop a running job
	Running  func() []int64         // jobs running now
	Draining func() bool            // the runner takes no new jobs
}

// Run keeps the runner registered and cancels jobs the master asks it to,
// until ctx ends; then it removes the registration.
func (a *Agent) Run(ctx context.Context, c Control) error {
	a.mu.Lock()
	a.cancel = c.Cancel
	a.mu.Unlock()
	started := time.Now().UTC()
	go a.listenCancels(ctx)
	tick := time.NewTicker(min(cancelPoll, registryInterval))
	defer tick.Stop()
	lastReg := time.Time{}
	for {
		if time.Since(lastReg) >= registryInterval {
			a.register(ctx, c, started)
			lastReg = time.Now()
		}
		a.pollCancels(ctx)
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			a.rdb.Del(dctx, a.opts.Queue.Prefix+"runner:"+a.opts.Name)
			return nil
		case <-tick.C:
		}
	}
}

func (a *Agent) register(ctx context.Context, c Control, started time.Time) {
	ri := RunnerInfo{
		Name: a.opts.Name, Arches: a.opts.Arches, Capacity: a.opts.Capacity,
		LogURL: a.opts.LogURL, Started: started, Seen: time.Now().UTC(), Running: []int64{},
	}
	if c.Running != nil {
		ri.Running = c.Running()
		slices.Sort(ri.Running)
	}
	if c.Draining != nil {
		ri.Draining = c.Draining()
	}
	data, _ := json.Marshal(ri)
	key := a.opts.Queue.Prefix + "runner:" + a.opts.Name
	if err := a.rdb.Set(ctx, key, data, 3*registryInterval).Err(); err != nil && ctx.Err() == nil {
		slog.Warn("agent: register runner", "err", err)
	}
}

// listenCancels acts on published cancels as they come.
func (a *Agent) listenCancels(ctx context.Context) {
	sub := a.rdb.Subscribe(ctx, a.opts.Queue.Prefix+"cancel")
	defer sub.Close()
	ch := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			if id, err := strconv.ParseInt(m.Payload, 10, 64); err == nil {
				a.cancelJob(id)
			}
		}
	}
}

// pollCancels looks for cancel keys of the held jobs.
func (a *Agent) pollCancels(ctx context.Context) {
	ids := a.Held()
	if len(ids) == 0 {
		return
	}
	cmds := make([]*goredis.IntCmd, len(ids))
	_, err := a.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Exists(ctx, a.cancelKey(id))
		}
		return nil
	})
	if err != nil {
		return
	}
	for i, c := range cmds {
		if c.Val() > 0 {
			a.cancelJob(ids[i])
		}
	}
}

// cancelJob stops a held job; it does nothing for other jobs.
func (a *Agent) cancelJob(id int64) {
	a.mu.Lock()
	_, held := a.jobs[id]
	cancel := a.cancel
	a.mu.Unlock()
	if held && cancel != nil && cancel(id) {
		slog.Info("agent: job cancelled by the master", "job", id, "runner", a.opts.Name)
	}
}
