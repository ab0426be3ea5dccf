package main

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"builds/internal/dispatch"
	rq "builds/internal/queue/redis"
	"builds/internal/secretbox"
	"builds/internal/web"
)

// wireDistributed sends jobs to remote runners through the shared Redis
// and applies the events they send back.
func (m *master) wireDistributed(ctx context.Context) error {
	cfg := m.cfg
	key, err := secretbox.ParseKey(cfg.NetworkKey)
	if err != nil {
		return fmt.Errorf("[sr.ht] network-key: %w", err)
	}
	shared, err := rq.Dial(ctx, cfg.Redis)
	if err != nil {
		return fmt.Errorf("[builds.sr.ht] redis: %w", err)
	}
	m.closers = append(m.closers, func() { shared.Close() })
	// An untyped nil tells the events package to use the shared Redis.
	var private goredis.UniversalClient
	if cfg.PrivateRedis != "" {
		p, err := rq.Dial(ctx, cfg.PrivateRedis)
		if err != nil {
			return fmt.Errorf("[sr.ht] redis-host: %w", err)
		}
		m.closers = append(m.closers, func() { p.Close() })
		private = p
	}
	m.dist, err = dispatch.NewMaster(shared, private, m.store, dispatch.MasterOptions{
		NetworkKey: key, Origin: cfg.Origin, LeaseTime: cfg.LeaseTime,
		Life: m.life, Logs: m.logs, AllowLog: m.canSeeJob, OAuthToken: m.jobTokens().mint,
	})
	return err
}

// admin feeds the admin page from whichever runners this master has.
func (m *master) admin() web.Admin {
	if m.dist != nil {
		return distAdmin{m}
	}
	return localAdmin{m}
}

// distAdmin lists the remote runners registered in Redis.
type distAdmin struct{ m *master }

func (a distAdmin) Runners(ctx context.Context) []web.RunnerInfo {
	rs, err := a.m.dist.Runners(ctx)
	if err != nil {
		return nil
	}
	out := make([]web.RunnerInfo, 0, len(rs))
	for _, r := range rs {
		out = append(out, web.RunnerInfo{Name: r.Name, Arches: r.Arches, Jobs: r.Running, LastSeen: r.Seen})
	}
	return out
}

func (a distAdmin) QueueDepth(ctx context.Context) int {
	n, err := a.m.dist.Queue.Len(ctx)
	if err != nil {
		return 0
	}
	total := 0
	for _, v := range n {
		total += int(v)
	}
	return total
}
