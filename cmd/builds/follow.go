package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// followPoll is how often a followed job's logs and status are polled
// when the server has no status stream.
const followPoll = 200 * time.Millisecond

const jobStatusQuery = `query job($id: Int!) { job(id: $id) { status tasks { name status } } }`

type followedJob struct {
	Status string
	Tasks  []struct{ Name, Status string }
}

// followJob prints a job's logs as they grow, in order: the runner's own
// log, then each task's log as the task runs. It returns the job's final
// status (lowercase). Status changes are pushed by the server's status
// stream and logs are followed live; servers without the stream are
// polled.
func followJob(ctx context.Context, c *gqlClient, id int64, out io.Writer) (string, error) {
	status, err := followStream(ctx, c, id, out)
	if errors.Is(err, errNoStatusStream) {
		return followPolling(ctx, c, id, out)
	}
	return status, err
}

// followPolling is followJob for servers without a status stream.
func followPolling(ctx context.Context, c *gqlClient, id int64, out io.Writer) (string, error) {
	f := &follower{c: c, id: id, out: out, offsets: map[string]int64{}}
	for {
		var res struct{ Job followedJob }
		if err := c.do(ctx, jobStatusQuery, map[string]any{"id": id}, &res); err != nil {
			return "", err
		}
		terminal := isTerminal(res.Job.Status)
		if err := f.drain(ctx, res.Job, terminal); err != nil {
			return "", err
		}
		if terminal {
			return strings.ToLower(res.Job.Status), nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(followPoll):
		}
	}
}

type follower struct {
	c       *gqlClient
	id      int64
	out     io.Writer
	offsets map[string]int64 // log name ("" for the job's own) -> bytes shown
	next    int              // index of the task whose log is shown next
	headed  bool             // whether that task's header is printed
	// tasksShown is set once a task has started: from then on the
	// runner's own log is held back until the job ends.
	tasksShown bool
}

// drain prints what is new in the logs that have started: the runner's own
// log until the first task starts, then each task's log in order, then the
// rest of the runner's log (its closing lines) once the job has ended.
func (f *follower) drain(ctx context.Context, j followedJob, terminal bool) error {
	started := false
	for _, t := range j.Tasks {
		if st := strings.ToLower(t.Status); st != "pending" && st != "skipped" {
			started = true
		}
	}
	if !f.tasksShown || terminal {
		// One last read of the setup log when the first task starts, so
		// nothing written before it is held back until the end.
		if err := f.show(ctx, ""); err != nil {
			return err
		}
		f.tasksShown = started
	}
	if err := f.showTasks(ctx, j); err != nil {
		return err
	}
	if terminal && f.tasksShown {
		// The runner's closing lines follow the last task's output.
		fmt.Fprintln(f.out)
		f.tasksShown = false
		return f.show(ctx, "")
	}
	return nil
}

// showTasks shows the log of the task being followed, moving on to the next
// once a task has ended and its log has been read to the end.
func (f *follower) showTasks(ctx context.Context, j followedJob) error {
	for f.next < len(j.Tasks) {
		t := j.Tasks[f.next]
		st := strings.ToLower(t.Status)
		if st == "pending" {
			return nil
		}
		if st == "skipped" {
			f.next++
			continue
		}
		if !f.headed {
			fmt.Fprintf(f.out, "\n\x1b[1m==> task %s\x1b[0m\n", t.Name)
			f.headed = true
		}
		if err := f.show(ctx, t.Name); err != nil {
			return err
		}
		if st == "running" {
			return nil
		}
		f.next, f.headed = f.next+1, false
	}
	return nil
}

// show copies the new bytes of one log to the output.
func (f *follower) show(ctx context.Context, task string) error {
	path := fmt.Sprintf("%s/logs/%d/log", f.c.base, f.id)
	if task != "" {
		path = fmt.Sprintf("%s/logs/%d/%s/log", f.c.base, f.id, task)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+f.c.token)
	req.Header.Set("Range", "bytes="+strconv.FormatInt(f.offsets[task], 10)+"-")
	res, err := f.c.http.Do(req)
	if err != nil {
		return fmt.Errorf("read log: %w", err)
	}
	defer res.Body.Close()
	switch res.StatusCode {
	case http.StatusOK, http.StatusPartialContent:
		if res.StatusCode == http.StatusOK && f.offsets[task] > 0 {
			// The server ignored the range; skip what was shown.
			io.CopyN(io.Discard, res.Body, f.offsets[task])
		}
		n, err := io.Copy(f.out, res.Body)
		f.offsets[task] += n
		return err
	case http.StatusRequestedRangeNotSatisfiable, http.StatusNotFound:
		return nil // nothing new, or not written yet
	default:
		return fmt.Errorf("read log %s: %s", path, res.Status)
	}
}

func isTerminal(status string) bool {
	switch strings.ToLower(status) {
	case "success", "failed", "timeout", "cancelled":
		return true
	}
	return false
}
