package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"builds/internal/build"
	"builds/internal/queue"
	"builds/internal/secretbox"
)

// DefaultLeaseTime is how long a lease lasts without a heartbeat.
const DefaultLeaseTime = 60 * time.Second

// DefaultPrefix starts every key the queue and the events protocol use.
const DefaultPrefix = "builds:"

// group is the consumer group every runner reads the queue streams in.
const group = "runners"

// keepDone is how long a finished job's hash is kept, so that its key can
// still check the job's late events.
const keepDone = 24 * time.Hour

// ErrLeaseLost is returned by Heartbeat, Started and Done when the lease
// expired and the job was handed to another runner or to the master. The
// runner must stop the job.
var ErrLeaseLost = errors.New("lease lost: the job was handed elsewhere after missed heartbeats")

// ErrUnsealable wraps the error Take returns when a job's payload cannot be
// decrypted: the runner's network key is not the master's. Retrying cannot
// help, so Take returns it at once instead of waiting for more jobs.
var ErrUnsealable = errors.New("job payload cannot be opened")

// Options configure both sides of the queue. Master and runners must agree
// on Prefix, LeaseTime and the key Box was made with.
type Options struct {
	// Box seals payloads; it is made from the network key. Required.
	Box *secretbox.Box
	// Prefix of every key; DefaultPrefix when empty.
	Prefix string
	// LeaseTime is how long a lease lasts without heartbeat;
	// DefaultLeaseTime when zero.
	LeaseTime time.Duration
	// Payload, on the master, returns what a runner needs to run the job
	// (manifest, owner, secrets...); it is sealed with the item. May be nil.
	Payload func(ctx context.Context, it queue.Item) ([]byte, error)
}

func (o *Options) fill() error {
	if o.Box == nil {
		return errors.New("redis queue: a secretbox made from the network key is required")
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.LeaseTime <= 0 {
		o.LeaseTime = DefaultLeaseTime
	}
	return nil
}

func (o *Options) stream(arch string) string { return o.Prefix + "q:" + arch }
func (o *Options) arches() string            { return o.Prefix + "arches" }

// JobKey returns the name of the hash holding a queued job's sealed payload.
func (o *Options) JobKey(jobID int64) string {
	return o.Prefix + "job:" + strconv.FormatInt(jobID, 10)
}

// Queue is the master's side of the Redis queue. It is safe for concurrent
// use.
type Queue struct {
	rdb  goredis.UniversalClient
	opts Options
}

var _ queue.Queue = (*Queue)(nil)

// New returns the master's side of the queue on rdb.
func New(rdb goredis.UniversalClient, opts Options) (*Queue, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	return &Queue{rdb: rdb, opts: opts}, nil
}

// sealedItem is what the job hash holds, sealed.
type sealedItem struct {
	JobID    int64     `json:"job"`
	Arch     string    `json:"arch"`
	Image    string    `json:"image"`
	Key      string    `json:"key"`
	Enqueued time.Time `json:"enqueued"`
	Payload  []byte    `json:"payload,omitempty"`
}

// open decrypts a job hash's sealed payload.
func (o *Options) open(jobID int64, sealed string) (queue.Item, []byte, error) {
	plain, err := o.Box.Open([]byte(sealed), ad(jobID))
	if err != nil {
		return queue.Item{}, nil, fmt.Errorf("open payload of job %d (is the network key the master's?): %w: %w", jobID, ErrUnsealable, err)
	}
	var s sealedItem
	if err := json.Unmarshal(plain, &s); err != nil || s.JobID != jobID {
		return queue.Item{}, nil, fmt.Errorf("decode payload of job %d: bad payload", jobID)
	}
	return queue.Item{JobID: s.JobID, Arch: s.Arch, Image: s.Image, Key: s.Key, Enqueued: s.Enqueued}, s.Payload, nil
}

func ad(jobID int64) []byte { return []byte("builds queue job " + strconv.FormatInt(jobID, 10)) }

// Enqueue adds a job for the runners of its arch. Enqueueing a job that is
// already queued replaces its entry.
func (q *Queue) Enqueue(ctx context.Context, it queue.Item) error {
	if it.JobID < 1 || it.Arch == "" || strings.ContainsAny(it.Arch, " \t\n") {
		return build.Errorf(build.EINVALID, "queue item needs a positive job ID and an arch without spaces (got %d, %q)", it.JobID, it.Arch)
	}
	s := sealedItem{JobID: it.JobID, Arch: it.Arch, Image: it.Image, Key: it.Key, Enqueued: it.Enqueued}
	if q.opts.Payload != nil {
		p, err := q.opts.Payload(ctx, it)
		if err != nil {
			return fmt.Errorf("build payload of job %d: %w", it.JobID, err)
		}
		s.Payload = p
	}
	plain, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode job %d: %w", it.JobID, err)
	}
	sealed := q.opts.Box.Seal(plain, ad(it.JobID))
	keys := []string{q.opts.stream(it.Arch), q.opts.JobKey(it.JobID), q.opts.arches()}
	if err := enqueueScript.Run(ctx, q.rdb, keys, group, it.JobID, sealed).Err(); err != nil {
		return fmt.Errorf("enqueue job %d: %w", it.JobID, err)
	}
	return nil
}

// Remove takes a job no runner has taken off the queue. A job a runner
// already holds is marked cancelled, so that it is not handed to anyone
// else should that runner die; stopping it is the events protocol's work.
func (q *Queue) Remove(ctx context.Context, jobID int64) error {
	err := removeScript.Run(ctx, q.rdb, []string{q.opts.JobKey(jobID)}, group, int(keepDone.Seconds())).Err()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return fmt.Errorf("remove job %d from the queue: %w", jobID, err)
	}
	return nil
}

// reaper is the consumer name the master holds expired leases under.
const reaper = "master:reaper"

// ExpiredJob is a started job whose runner stopped renewing its lease.
type ExpiredJob struct {
	JobID  int64
	Runner string
}

// Expired returns every started job whose lease has expired; the caller
// (the master) ends each one failed and then confirms with Reaped. Until
// confirmed, a job is returned again by later calls, so a master that
// restarts meanwhile still ends it. Jobs that were never started are not
// returned: the next runner to Take gets them.
func (q *Queue) Expired(ctx context.Context) ([]ExpiredJob, error) {
	streams, err := q.rdb.SMembers(ctx, q.opts.arches()).Result()
	if err != nil {
		return nil, fmt.Errorf("list queue streams: %w", err)
	}
	var out []ExpiredJob
	for _, s := range streams {
		res, err := expiredScript.Run(ctx, q.rdb, []string{s}, group,
			q.opts.LeaseTime.Milliseconds(), q.opts.Prefix, reaper).StringSlice()
		if err != nil {
			return out, fmt.Errorf("find expired leases in %s: %w", s, err)
		}
		for i := 0; i+1 < len(res); i += 2 {
			id, _ := strconv.ParseInt(res[i], 10, 64)
			out = append(out, ExpiredJob{JobID: id, Runner: res[i+1]})
		}
	}
	return out, nil
}

// Reaped takes an expired job returned by Expired off the queue for good.
func (q *Queue) Reaped(ctx context.Context, jobID int64) error {
	err := reapedScript.Run(ctx, q.rdb, []string{q.opts.JobKey(jobID)}, group, reaper, int(keepDone.Seconds())).Err()
	if err != nil {
		return fmt.Errorf("confirm expired job %d: %w", jobID, err)
	}
	return nil
}

// JobState is what the queue knows about a job it was given.
type JobState struct {
	Item    queue.Item
	Runner  string // the runner that holds or held it, "" before any Take
	Started bool   // the runner marked it started
}

// State returns what the queue knows about a job, from its enqueue until
// a day after it ended. It is build.ENOTFOUND when the queue has no record.
func (q *Queue) State(ctx context.Context, jobID int64) (*JobState, error) {
	h, err := q.rdb.HMGet(ctx, q.opts.JobKey(jobID), "sealed", "runner", "started").Result()
	if err != nil {
		return nil, fmt.Errorf("read queue state of job %d: %w", jobID, err)
	}
	sealed, _ := h[0].(string)
	if sealed == "" {
		return nil, build.Errorf(build.ENOTFOUND, "the queue has no record of job %d", jobID)
	}
	it, _, err := q.opts.open(jobID, sealed)
	if err != nil {
		return nil, err
	}
	runner, _ := h[1].(string)
	return &JobState{Item: it, Runner: runner, Started: h[2] != nil}, nil
}

// Len returns how many jobs wait for a runner on each arch's stream,
// counting ones handed out but not yet done.
func (q *Queue) Len(ctx context.Context) (map[string]int64, error) {
	streams, err := q.rdb.SMembers(ctx, q.opts.arches()).Result()
	if err != nil {
		return nil, fmt.Errorf("list queue streams: %w", err)
	}
	out := make(map[string]int64, len(streams))
	for _, s := range streams {
		n, err := q.rdb.XLen(ctx, s).Result()
		if err != nil {
			return nil, fmt.Errorf("count %s: %w", s, err)
		}
		out[strings.TrimPrefix(s, q.opts.Prefix+"q:")] = n
	}
	return out, nil
}
