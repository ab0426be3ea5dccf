// Package logs keeps build logs on disk, redacts secrets out of them while
// they are written, serves them over HTTP with Range support, and streams
// them live to followers.
//
// Layout under the log directory:
//
//	<dir>/<job id>/log              the runner's own lines for the job
//	<dir>/<job id>/<task>/log       a task's raw terminal output
//	<dir>/<job id>/log.task/log     the output of a task named "log", whose
//	                                directory would clash with the job's log
//	<log>.done                      the log is complete
//	<dir>/<job id>/job.done         every log of the job is complete
//
// A follower in the same process as the writer (same *Dir) is woken as soon
// as data is written and reads the disk only then (with a slow safety
// check every localPollInterval); one in another process sees the files
// only and polls them every pollInterval.
package logs

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"builds/internal/build"
)

// pollInterval bounds how late a follower notices data written by another
// process, or a completion marker it was not notified of.
const pollInterval = 50 * time.Millisecond

// localPollInterval is how often a follower looks at the files while a
// writer of the same job in this process wakes it on every write: only a
// safety net.
const localPollInterval = 2 * time.Second

// taskName is the manifest's rule for task names.
var taskName = regexp.MustCompile(`^[a-z0-9_-]{1,128}$`)

// Dir is a log directory. It is safe for concurrent use; writers and
// followers of the same job should share one *Dir so that followers are
// woken without polling.
type Dir struct {
	root string
	mu   sync.Mutex
	jobs map[int64]*notifier
}

// Open returns the log directory at root, creating it if needed.
func Open(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("open log dir: %w", err)
	}
	return &Dir{root: root, jobs: make(map[int64]*notifier)}, nil
}

// Root returns the directory's path.
func (d *Dir) Root() string { return d.root }

// Path returns the file of a job's setup log (task "") or of one task's
// log. It returns an EINVALID error for a job ID below 1 or a task name that
// does not match ^[a-z0-9_-]+$ (at most 128 characters). A task named
// "log" keeps its log in the directory "log.task", since "log" is the setup
// log's file; '.' cannot appear in a task name, so no other task clashes.
func (d *Dir) Path(jobID int64, task string) (string, error) {
	if jobID < 1 {
		return "", build.Errorf(build.EINVALID, "job ID %d: must be positive", jobID)
	}
	job := filepath.Join(d.root, strconv.FormatInt(jobID, 10))
	if task == "" {
		return filepath.Join(job, "log"), nil
	}
	if !taskName.MatchString(task) {
		return "", build.Errorf(build.EINVALID,
			"task name %q: must match ^[a-z0-9_-]+$ and be at most 128 characters", task)
	}
	if task == "log" {
		return filepath.Join(job, "log.task", "log"), nil
	}
	return filepath.Join(job, task, "log"), nil
}

func (d *Dir) jobDonePath(jobID int64) string {
	return filepath.Join(d.root, strconv.FormatInt(jobID, 10), "job.done")
}

// complete reports whether the log at path, of job jobID, will not grow.
func (d *Dir) complete(jobID int64, path string) bool {
	return exists(path+".done") || exists(d.jobDonePath(jobID))
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// acquire returns the job's notifier, creating it; release must follow.
// writer is true for a Writer, which wakes followers on every write.
func (d *Dir) acquire(jobID int64, writer bool) *notifier {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := d.jobs[jobID]
	if n == nil {
		n = &notifier{}
		d.jobs[jobID] = n
	}
	n.refs++
	if writer {
		n.writers++
	}
	return n
}

func (d *Dir) release(jobID int64, writer bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n := d.jobs[jobID]; n != nil {
		if writer {
			n.writers--
		}
		if n.refs--; n.refs <= 0 {
			delete(d.jobs, jobID)
		}
	}
}

// pollEvery is how often a follower of job jobID looks at the files: rarely
// while a writer in this process wakes it, else often (the writer is in
// another process).
func (d *Dir) pollEvery(jobID int64) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n := d.jobs[jobID]; n != nil && n.writers > 0 {
		return localPollInterval
	}
	return pollInterval
}

// notifier wakes every follower of a job when any of its logs changes.
// refs and writers are guarded by Dir.mu, ch by mu.
type notifier struct {
	refs    int
	writers int // open Writers of the job in this process
	mu      sync.Mutex
	ch      chan struct{}
}

// wait returns a channel closed at the next broadcast.
func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

// broadcast wakes the current waiters. It allocates nothing when nobody
// waits, so a writer with no follower pays only a lock.
func (n *notifier) broadcast() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
}
