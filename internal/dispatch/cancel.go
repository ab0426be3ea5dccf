package dispatch

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

	"builds/internal/wire"
)

// Canceller is the master's side of cancels. It is safe for concurrent use.
type Canceller struct {
	rdb    goredis.UniversalClient
	prefix string
}

// NewCanceller returns a Canceller on the shared Redis; prefix is the
// queue's (rq.DefaultPrefix when empty).
func NewCanceller(rdb goredis.UniversalClient, prefix string) *Canceller {
	return &Canceller{rdb: rdb, prefix: wire.OrPrefix(prefix)}
}

// Cancel tells whichever runner holds the job to cancel it. The runner
// acts within a second or two; a runner that has not started the job yet
// refuses to start it.
func (c *Canceller) Cancel(ctx context.Context, jobID int64) error {
	id := strconv.FormatInt(jobID, 10)
	_, err := c.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Set(ctx, wire.CancelKey(c.prefix, jobID), "1", wire.CancelTTL)
		p.Publish(ctx, wire.CancelChannel(c.prefix), id)
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

// RunnerInfo is a live runner's registration.
type RunnerInfo = wire.RunnerInfo

// Runners lists the runners registered on the shared Redis, by name.
// prefix is the queue's (rq.DefaultPrefix when empty).
func Runners(ctx context.Context, rdb goredis.UniversalClient, prefix string) ([]RunnerInfo, error) {
	prefix = wire.OrPrefix(prefix)
	var keys []string
	iter := rdb.Scan(ctx, 0, wire.RunnerKey(prefix, "*"), 100).Iterator()
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
