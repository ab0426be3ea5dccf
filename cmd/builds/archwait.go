package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"builds/internal/build"
	"builds/internal/wire"
)

// watchArches fails, every little while until ctx ends, the queued jobs
// that waited longer than no-runner-wait for an arch no registered runner
// offers: without it they would stay queued forever.
func (m *master) watchArches(ctx context.Context) {
	wait := m.cfg.NoRunnerWait
	t := time.NewTicker(min(max(wait/4, 100*time.Millisecond), 30*time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := m.failUnrunnable(ctx, wait); err != nil && ctx.Err() == nil {
			slog.Error("fail jobs no runner can take", "err", err)
		}
	}
}

// failUnrunnable fails the queued jobs older than wait whose arch no live
// runner offers.
func (m *master) failUnrunnable(ctx context.Context, wait time.Duration) error {
	ids, err := m.store.JobsByStatus(ctx, build.JobQueued, 1000)
	if err != nil || len(ids) == 0 {
		return err
	}
	runners, err := m.dist.Runners(ctx)
	if err != nil {
		return err
	}
	offered, anyArch := offeredArches(runners)
	if anyArch {
		return nil
	}
	for _, id := range ids {
		j, err := m.store.Job(ctx, id)
		if err != nil || j.Status != build.JobQueued || slices.Contains(offered, j.Arch) || time.Since(j.Updated) < wait {
			continue
		}
		m.failNoRunner(ctx, j, offered, wait)
	}
	return nil
}

// offeredArches lists the arches the runners offer; anyArch is true when
// one takes jobs of any arch.
func offeredArches(runners []wire.RunnerInfo) (arches []string, anyArch bool) {
	for _, r := range runners {
		if len(r.Arches) == 0 {
			return nil, true
		}
		for _, a := range r.Arches {
			if !slices.Contains(arches, a) {
				arches = append(arches, a)
			}
		}
	}
	slices.Sort(arches)
	return arches, false
}

// failNoRunner fails job j with a line in its log saying why.
func (m *master) failNoRunner(ctx context.Context, j *build.Job, offered []string, wait time.Duration) {
	have := "no runner is registered"
	if len(offered) > 0 {
		have = "the registered runners offer " + strings.Join(offered, ", ")
	}
	why := fmt.Sprintf("No runner takes jobs for arch %s (%s); the job waited %s (no-runner-wait) and has failed. "+
		"Start a runner with that arch, or submit the job for another.", j.Arch, have, wait)
	if err := m.life.Fail(ctx, j.ID, why); err != nil {
		slog.Error("fail job no runner can take", "job", j.ID, "err", err)
		return
	}
	slog.Warn("job failed: no runner takes its arch", "job", j.ID, "arch", j.Arch, "runners", offered)
}
