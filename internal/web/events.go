package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"builds/internal/build"
	"builds/internal/httpx"
	"builds/internal/web/ansi"
)

// endGrace is how long the event stream keeps following logs after the job
// has ended: a runner closes its logs right after reporting the final
// status, and a job cancelled before it started has no logs to close.
const endGrace = 2 * time.Second

// logEvent carries new output of one log, already converted to HTML.
type logEvent struct {
	Log     string `json:"log"`     // "setup" or a task name
	HTML    string `json:"html"`    // complete lines to append
	Partial string `json:"partial"` // the line being written, replacing the previous one
	Offset  int64  `json:"offset"`  // where to resume: the start of the partial line
}

// handleJobEvents streams a job's new log output and status changes as
// server-sent events: "log" events (logEvent), "status" events (jobStatus)
// and a final "end" event once the job has ended and its logs are
// complete. Query parameters give the offset each log continues from:
// setup=N and t.<task>=N; the page knows them from its own rendering.
func (s *Server) handleJobEvents(w http.ResponseWriter, r *http.Request) {
	j, err := s.visibleJob(r)
	if err != nil {
		http.Error(w, build.ErrorMessage(err), httpx.HTTPStatus(build.ErrorCode(err)))
		return
	}
	release, ok := s.opt.Streams.Acquire(w, r)
	if !ok {
		return
	}
	defer release()
	rc, ok := httpx.StartEventStream(w)
	if !ok {
		return
	}
	es := &eventStream{s: s, w: w, rc: rc, job: j, events: make(chan logEvent, 64)}
	es.run(r)
}

type eventStream struct {
	s      *Server
	w      http.ResponseWriter
	rc     *http.ResponseController
	job    *build.Job
	events chan logEvent
	last   []byte // last status sent
}

func (es *eventStream) run(r *http.Request) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	done := es.startFollowers(ctx, r)
	changed, stopWatch := es.watch()
	defer stopWatch()
	es.sendStatus(es.job)
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	var grace <-chan time.Time
	logsDone := false
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-es.events:
			if es.writeLogs(ev) != nil {
				return
			}
		case <-done:
			done, logsDone = nil, true
			if es.job.Status.Terminal() {
				es.end()
				return
			}
		case <-changed:
			if es.poll(ctx) && grace == nil {
				grace = time.After(endGrace)
			}
		case <-grace:
			if logsDone {
				es.end()
				return
			}
			cancel() // followers stop; done closes next
			ctx, grace = r.Context(), nil
		case <-keepAlive.C:
			es.comment()
		}
	}
}

// watch returns a channel that receives a value when the job may have
// changed: pushed by the lifecycle when the server has it, else a ticker
// polling the store.
func (es *eventStream) watch() (<-chan struct{}, func()) {
	return httpx.Changes(es.s.opt.Watch, es.job.ID, es.s.pollInt)
}

// startFollowers follows every log of the job from the offsets the request
// names. The returned channel closes when all followers have returned.
func (es *eventStream) startFollowers(ctx context.Context, r *http.Request) <-chan struct{} {
	q := r.URL.Query()
	var wg sync.WaitGroup
	// The followers keep the ID: es.job is replaced as the job is polled.
	id := es.job.ID
	follow := func(key, task, param string) {
		off, _ := strconv.ParseInt(q.Get(param), 10, 64)
		wg.Add(1)
		go func() {
			defer wg.Done()
			es.follow(ctx, id, key, task, max(off, 0))
		}()
	}
	follow("setup", "", "setup")
	for _, t := range es.job.Tasks {
		follow(t.Name, t.Name, "t."+t.Name)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return done
}

// follow converts one log's new output to HTML events.
func (es *eventStream) follow(ctx context.Context, id int64, key, task string, offset int64) {
	var conv ansi.Converter
	pos, lineStart := offset, offset
	err := es.s.opt.Logs.Follow(ctx, id, task, offset, func(p []byte) error {
		if i := bytes.LastIndexByte(p, '\n'); i >= 0 {
			lineStart = pos + int64(i) + 1
		}
		pos += int64(len(p))
		ev := logEvent{Log: key, HTML: conv.Write(p), Partial: conv.Partial(), Offset: lineStart}
		select {
		case es.events <- ev:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	if err != nil && ctx.Err() == nil {
		es.s.log.Error("follow log", "job", id, "task", task, "err", err)
	}
}

// writeLogs writes ev and whatever else is waiting, then flushes once.
func (es *eventStream) writeLogs(ev logEvent) error {
	for {
		b, _ := json.Marshal(ev)
		if err := es.writeRaw("log", b); err != nil {
			return err
		}
		select {
		case ev = <-es.events:
			continue
		default:
		}
		return es.rc.Flush()
	}
}

func (es *eventStream) end() {
	es.drain()
	es.write("end", es.last)
}

// drain sends the events the followers left behind.
func (es *eventStream) drain() {
	for {
		select {
		case ev := <-es.events:
			b, _ := json.Marshal(ev)
			es.writeRaw("log", b)
		default:
			return
		}
	}
}

// poll re-reads the job, sends its status if it changed, and reports
// whether the job has ended.
func (es *eventStream) poll(ctx context.Context) bool {
	j, err := es.s.opt.Store.Job(ctx, es.job.ID)
	if err != nil {
		if ctx.Err() == nil {
			es.s.log.Error("poll job", "job", es.job.ID, "err", err)
		}
		return false
	}
	es.job = j
	es.sendStatus(j)
	return j.Status.Terminal()
}

func (es *eventStream) sendStatus(j *build.Job) {
	st := statusOf(j, time.Now())
	// Running clocks change every second; the page ticks them itself.
	if j.Status == build.JobRunning {
		st.Duration = ""
	}
	for i := range st.Tasks {
		if st.Tasks[i].Status == string(build.TaskRunning) {
			st.Tasks[i].Duration = ""
		}
	}
	b, _ := json.Marshal(st)
	if bytes.Equal(b, es.last) {
		return
	}
	es.last = b
	es.write("status", b)
}

func (es *eventStream) write(event string, data []byte) {
	if es.writeRaw(event, data) == nil {
		es.rc.Flush()
	}
}

func (es *eventStream) writeRaw(event string, data []byte) error {
	_, err := fmt.Fprintf(es.w, "event: %s\ndata: %s\n\n", event, data)
	return err
}

func (es *eventStream) comment() {
	if _, err := es.w.Write([]byte(": keep-alive\n\n")); err == nil {
		es.rc.Flush()
	}
}
