package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"builds/internal/queue"
)

// maxBlock bounds one blocking read, so that Take notices a cancelled
// context and expired leases in good time.
const maxBlock = time.Second

// Source is a runner's side of the Redis queue. It is safe for concurrent
// use; each Take returns at most one job.
type Source struct {
	rdb  goredis.UniversalClient
	opts Options
}

var _ queue.Source = (*Source)(nil)

// NewSource returns a runner's side of the queue on rdb.
func NewSource(rdb goredis.UniversalClient, opts Options) (*Source, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	return &Source{rdb: rdb, opts: opts}, nil
}

// Take blocks until a job for one of arches is handed to runner, or ctx
// ends (then it returns ctx's error). Jobs whose previous runner died
// before starting them come first. Redis errors are retried with a pause,
// so Take survives a Redis restart; a payload that the network key cannot
// open is not (ErrUnsealable).
func (s *Source) Take(ctx context.Context, runner string, arches []string) (queue.Lease, error) {
	if runner == "" || len(arches) == 0 {
		return nil, errors.New("take: a runner name and at least one arch are required")
	}
	for pause := 50 * time.Millisecond; ; {
		l, err := s.tryTake(ctx, runner, arches)
		switch {
		case l != nil:
			return l, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.Is(err, ErrUnsealable):
			return nil, err
		case err != nil:
			slog.Warn("queue: take failed; retrying", "runner", runner, "err", err, "pause", pause)
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(pause):
			}
			pause = min(2*pause, 2*time.Second)
		default:
			pause = 50 * time.Millisecond
		}
	}
}

// tryTake makes one attempt: reclaim, then one bounded blocking read.
// (nil, nil) means nothing came.
func (s *Source) tryTake(ctx context.Context, runner string, arches []string) (*Lease, error) {
	streams := make([]string, 0, 2*len(arches))
	for _, a := range arches {
		st := s.opts.stream(a)
		if l, err := s.reclaim(ctx, runner, st); l != nil || err != nil {
			return l, err
		}
		streams = append(streams, st)
	}
	for range arches {
		streams = append(streams, ">")
	}
	block := min(maxBlock, s.opts.LeaseTime/2)
	if d, ok := ctx.Deadline(); ok {
		block = max(min(block, time.Until(d)), time.Millisecond)
	}
	res, err := s.rdb.XReadGroup(ctx, &goredis.XReadGroupArgs{
		Group: group, Consumer: runner, Streams: streams, Count: 1, Block: block,
	}).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	if isNoGroup(err) {
		return nil, s.createGroups(ctx, arches)
	}
	if err != nil {
		return nil, fmt.Errorf("read queue: %w", err)
	}
	return s.bindFirst(ctx, runner, res)
}

// bindFirst binds the first usable entry read and gives back the others
// (a read over several streams may return one entry from each).
func (s *Source) bindFirst(ctx context.Context, runner string, res []goredis.XStream) (*Lease, error) {
	var lease *Lease
	var firstErr error
	for _, st := range res {
		for _, m := range st.Messages {
			job, _ := m.Values["job"].(string)
			if lease != nil || firstErr != nil {
				keys := []string{st.Stream, s.jobKey(job)}
				if err := releaseScript.Run(ctx, s.rdb, keys, group, m.ID, job).Err(); err != nil {
					slog.Warn("queue: give back extra entry", "job", job, "err", err)
				}
				continue
			}
			lease, firstErr = s.bind(ctx, runner, st.Stream, m.ID, job)
		}
	}
	return lease, firstErr
}

func (s *Source) jobKey(job string) string { return s.opts.Prefix + "job:" + job }

func (s *Source) bind(ctx context.Context, runner, stream, entry, job string) (*Lease, error) {
	sealed, err := bindScript.Run(ctx, s.rdb, []string{stream, s.jobKey(job)}, group, runner, entry).Text()
	if errors.Is(err, goredis.Nil) {
		return nil, nil // removed or queued again meanwhile
	}
	if err != nil {
		return nil, fmt.Errorf("bind job %s: %w", job, err)
	}
	return s.open(runner, stream, entry, job, sealed)
}

func (s *Source) reclaim(ctx context.Context, runner, stream string) (*Lease, error) {
	res, err := reclaimScript.Run(ctx, s.rdb, []string{stream}, group, runner,
		s.opts.LeaseTime.Milliseconds(), s.opts.Prefix).StringSlice()
	if errors.Is(err, goredis.Nil) || isNoGroup(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reclaim expired leases in %s: %w", stream, err)
	}
	if len(res) != 3 {
		return nil, fmt.Errorf("reclaim expired leases in %s: unexpected reply %q", stream, res)
	}
	return s.open(runner, stream, res[0], res[1], res[2])
}

// open decrypts a job hash's payload into a lease.
func (s *Source) open(runner, stream, entry, job, sealed string) (*Lease, error) {
	id, err := strconv.ParseInt(job, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("queue entry %s of %s: bad job ID %q", entry, stream, job)
	}
	it, payload, err := s.opts.open(id, sealed)
	if err != nil {
		return nil, err
	}
	return &Lease{src: s, runner: runner, stream: stream, entry: entry, item: it, payload: payload}, nil
}

func isNoGroup(err error) bool {
	return err != nil && len(err.Error()) >= 7 && err.Error()[:7] == "NOGROUP"
}

// createGroups makes the streams and group of arches no job was ever
// queued for yet, so that a runner can block on them.
func (s *Source) createGroups(ctx context.Context, arches []string) error {
	for _, a := range arches {
		err := s.rdb.XGroupCreateMkStream(ctx, s.opts.stream(a), group, "0").Err()
		if err != nil && !isBusyGroup(err) {
			return fmt.Errorf("create queue stream for %s: %w", a, err)
		}
	}
	return nil
}

func isBusyGroup(err error) bool {
	return err != nil && len(err.Error()) >= 9 && err.Error()[:9] == "BUSYGROUP"
}
