package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// errNoStatusStream means the server has no GET /api/jobs/{id}/events.
var errNoStatusStream = errors.New("the server has no job status stream")

// endGrace is how long a log stream may go on after its job ended (the
// runner completes its logs right after reporting the final status).
const endGrace = 2 * time.Second

// followStream is followJob over the server's status stream: the job's
// status arrives as it changes, and the log being shown is streamed live
// (?follow=1) rather than read again and again.
func followStream(ctx context.Context, c *gqlClient, id int64, out io.Writer) (string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	states, errs, err := c.statusStream(ctx, id)
	if err != nil {
		return "", err
	}
	f := &streamFollower{c: c, id: id, out: out, offsets: map[string]int64{}, ended: map[string]bool{}}
	defer f.stop()
	var grace <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case err := <-errs:
			return "", err
		case j, ok := <-states:
			if !ok {
				states = nil
				continue
			}
			f.job = j
			if isTerminal(j.Status) && grace == nil {
				grace = time.After(endGrace)
			}
		case n := <-f.streamDone:
			f.streamEnded(n)
		case <-grace:
			// A log that never completed: show what it has and go on.
			f.stop()
			f.gaveUp = true
		}
		done, err := f.advance(ctx)
		if err != nil || done {
			return strings.ToLower(f.job.Status), err
		}
	}
}

// streamFollower shows one log at a time, in followJob's order. Only
// followStream's goroutine uses it; a stream's goroutine writes to out
// only while it is the current stream.
type streamFollower struct {
	c       *gqlClient
	id      int64
	out     io.Writer
	job     followedJob
	offsets map[string]int64 // log name ("" for the job's own) -> bytes shown
	ended   map[string]bool  // logs whose stream reached their end
	next    int              // index of the task whose log is shown next
	headed  bool             // whether that task's header is printed
	// tasksShown is set once a task has started: from then on the
	// runner's own log is held back until the job ends.
	tasksShown bool
	gaveUp     bool // the job ended and its logs did not complete in time

	streaming  string // the log being streamed
	streamStop context.CancelFunc
	streamDone chan int64 // the bytes the stream showed, once it returns
}

// advance starts and stops log streams for the job's current state and
// reports whether everything has been shown.
func (f *streamFollower) advance(ctx context.Context) (bool, error) {
	if f.job.Status == "" {
		return false, nil
	}
	terminal := isTerminal(f.job.Status)
	if !f.tasksShown {
		if !anyTaskStarted(f.job) && !terminal {
			f.ensureStream(ctx, "")
			return false, nil
		}
		f.stop()
		// One last read of the setup log, so that nothing written before
		// the first task is held back until the end.
		if err := f.showRest(ctx, ""); err != nil {
			return false, err
		}
		f.tasksShown = anyTaskStarted(f.job)
	}
	all, err := f.showTasks(ctx, terminal)
	if err != nil || !all || !terminal {
		return false, err
	}
	f.stop()
	if f.tasksShown {
		fmt.Fprintln(f.out) // the runner's closing lines follow the last task's output
	}
	return true, f.showRest(ctx, "")
}

// showTasks streams the task being followed, moving on once a task's log
// has ended. It reports whether every task has been dealt with.
func (f *streamFollower) showTasks(ctx context.Context, terminal bool) (bool, error) {
	for f.next < len(f.job.Tasks) {
		t := f.job.Tasks[f.next]
		st := strings.ToLower(t.Status)
		switch {
		case st == "skipped" || (st == "pending" && terminal):
			f.next, f.headed = f.next+1, false
			continue
		case st == "pending":
			return false, nil
		}
		if !f.headed {
			fmt.Fprintf(f.out, "\n\x1b[1m==> task %s\x1b[0m\n", t.Name)
			f.headed = true
		}
		if f.gaveUp && !f.ended[t.Name] {
			if err := f.showRest(ctx, t.Name); err != nil {
				return false, err
			}
			f.ended[t.Name] = true
		}
		if f.ended[t.Name] {
			f.next, f.headed = f.next+1, false
			continue
		}
		f.ensureStream(ctx, t.Name)
		return false, nil
	}
	return true, nil
}

func anyTaskStarted(j followedJob) bool {
	for _, t := range j.Tasks {
		if st := strings.ToLower(t.Status); st != "pending" && st != "skipped" {
			return true
		}
	}
	return false
}

// ensureStream streams log name unless it already is being streamed.
func (f *streamFollower) ensureStream(ctx context.Context, name string) {
	if f.streamStop != nil && f.streaming == name {
		return
	}
	f.stop()
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan int64, 1)
	f.streaming, f.streamStop, f.streamDone = name, cancel, done
	offset := f.offsets[name]
	go func() { done <- f.streamLog(sctx, name, offset) }()
}

// streamEnded records that the current stream returned by itself: its
// log is complete (or the server ended the stream).
func (f *streamFollower) streamEnded(n int64) {
	f.offsets[f.streaming] += n
	f.ended[f.streaming] = true
	f.streamStop()
	f.streaming, f.streamStop, f.streamDone = "", nil, nil
}

// stop ends the current stream and waits for it, so that what it read is
// written and counted.
func (f *streamFollower) stop() {
	if f.streamStop == nil {
		return
	}
	f.streamStop()
	f.offsets[f.streaming] += <-f.streamDone
	f.streaming, f.streamStop, f.streamDone = "", nil, nil
}

// streamLog copies log name to the output from offset on, until the log
// is complete or ctx ends, and returns how many bytes it copied.
func (f *streamFollower) streamLog(ctx context.Context, name string, offset int64) int64 {
	path := f.logPath(name) + "?follow=1&offset=" + strconv.FormatInt(offset, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return 0
	}
	req.Header.Set("Authorization", "Bearer "+f.c.token)
	res, err := f.c.streamClient().Do(req)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		if ctx.Err() == nil {
			// Wait rather than spin: the status stream or the grace
			// period decides what happens next.
			<-ctx.Done()
		}
		return 0
	}
	n, _ := io.Copy(f.out, res.Body)
	return n
}

// showRest prints what is left of log name with one Range request.
func (f *streamFollower) showRest(ctx context.Context, name string) error {
	old := &follower{c: f.c, id: f.id, out: f.out, offsets: f.offsets}
	return old.show(ctx, name)
}

func (f *streamFollower) logPath(name string) string {
	if name == "" {
		return fmt.Sprintf("%s/logs/%d/log", f.c.base, f.id)
	}
	return fmt.Sprintf("%s/logs/%d/%s/log", f.c.base, f.id, name)
}

// streamClient is the client for streams, which may last as long as the
// job: the API client's overall timeout does not apply.
func (c *gqlClient) streamClient() *http.Client {
	return &http.Client{Transport: c.http.Transport, CheckRedirect: c.http.CheckRedirect}
}

// statusStream opens the job's status stream. States arrive on the first
// channel, which closes when the stream ends; a broken stream's error on
// the second. errNoStatusStream means the server has none (any refusal but
// 429 is taken so).
func (c *gqlClient) statusStream(ctx context.Context, id int64) (<-chan followedJob, <-chan error, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/api/jobs/%d/events", c.base, id), nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "text/event-stream")
	res, err := c.streamClient().Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("open the job's status stream: %w", err)
	}
	if res.StatusCode == http.StatusTooManyRequests {
		defer res.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		return nil, nil, fmt.Errorf("open the job's status stream: %s: %s", res.Status, strings.TrimSpace(string(b)))
	}
	if res.StatusCode != http.StatusOK {
		// A server without the stream (an older one, or builds.sr.ht):
		// polling reports any real error in its own words.
		res.Body.Close()
		return nil, nil, errNoStatusStream
	}
	states := make(chan followedJob, 16)
	errs := make(chan error, 1)
	go readStatusEvents(ctx, res.Body, states, errs)
	return states, errs, nil
}

// readStatusEvents decodes "status" and "end" events into states.
func readStatusEvents(ctx context.Context, body io.ReadCloser, states chan<- followedJob, errs chan<- error) {
	defer body.Close()
	defer close(states)
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var j followedJob
		if err := json.Unmarshal([]byte(data), &j); err != nil {
			errs <- fmt.Errorf("read the job's status stream: %w", err)
			return
		}
		select {
		case states <- j:
		case <-ctx.Done():
			return
		}
		if isTerminal(j.Status) {
			return
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		errs <- fmt.Errorf("read the job's status stream: %w", err)
	}
}
