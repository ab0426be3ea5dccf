package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"builds/internal/wire"
)

// cancelPoll is how often a runner checks its jobs' cancel keys, should it
// have missed the published message.
const cancelPoll = 2 * time.Second

func (a *Agent) cancelKey(jobID int64) string {
	return wire.CancelKey(a.opts.Queue.Prefix, jobID)
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
	tick := time.NewTicker(min(cancelPoll, wire.RegistryInterval))
	defer tick.Stop()
	lastReg := time.Time{}
	for {
		if time.Since(lastReg) >= wire.RegistryInterval {
			a.register(ctx, c, started)
			lastReg = time.Now()
		}
		a.pollCancels(ctx)
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			a.rdb.Del(dctx, wire.RunnerKey(a.opts.Queue.Prefix, a.opts.Name))
			return nil
		case <-tick.C:
		}
	}
}

func (a *Agent) register(ctx context.Context, c Control, started time.Time) {
	ri := wire.RunnerInfo{
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
	key := wire.RunnerKey(a.opts.Queue.Prefix, a.opts.Name)
	if err := a.rdb.Set(ctx, key, data, 3*wire.RegistryInterval).Err(); err != nil && ctx.Err() == nil {
		slog.Warn("agent: register runner", "err", err)
	}
}

// listenCancels acts on published cancels as they come.
func (a *Agent) listenCancels(ctx context.Context) {
	sub := a.rdb.Subscribe(ctx, wire.CancelChannel(a.opts.Queue.Prefix))
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
