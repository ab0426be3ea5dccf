package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"builds/internal/build"
	"builds/internal/httpx"
)

// statusPoll is how often a job's status stream reads the job when the
// server has no watch to push changes (tests, tools).
const statusPoll = 250 * time.Millisecond

// statusKeepAlive is how often an idle status stream sends a comment, so
// that proxies keep it open.
const statusKeepAlive = 15 * time.Second

// jobStatusJSON is one "status" event of a job's status stream.
type jobStatusJSON struct {
	ID     int64      `json:"id"`
	Status string     `json:"status"`
	Tasks  []taskJSON `json:"tasks"`
}

// routeEvents adds GET /api/jobs/{id}/events: the job's status as
// server-sent events, a "status" event (jobStatusJSON) now and after each
// change, and "end" once the job has ended. Changes are pushed by the job
// lifecycle (Options.Watch), so an open stream costs no database queries
// while nothing changes. Streams count against Options.Streams.
func (s *server) routeEvents(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/jobs/{id}/events", s.jobEvents)
}

func (s *server) jobEvents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := allows(ctx, build.ScopeJobs, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := pathID(r)
	if err == nil {
		_, err = s.opts.Submit.Job(ctx, UserFromContext(ctx), id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	release, ok := s.opts.Streams.Acquire(w, r)
	if !ok {
		return
	}
	defer release()
	rc, ok := httpx.StartEventStream(w)
	if !ok {
		return
	}
	s.streamStatus(ctx, w, rc, id)
}

// streamStatus sends the job's status whenever it changes, until it ends
// or the client goes away.
func (s *server) streamStatus(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController, id int64) {
	changed, stop := httpx.Changes(s.opts.Watch, id, statusPoll)
	defer stop()
	keepAlive := time.NewTicker(statusKeepAlive)
	defer keepAlive.Stop()
	var last []byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-keepAlive.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
			continue
		case <-changed:
		}
		j, err := s.opts.Store.Job(ctx, id)
		if err != nil {
			if ctx.Err() == nil {
				s.opts.Logger.Error("read job for its status stream", "job", id, "err", err)
			}
			return
		}
		b, _ := json.Marshal(s.statusJSON(j))
		if string(b) != string(last) {
			last = b
			if _, err := fmt.Fprintf(w, "event: status\ndata: %s\n\n", b); err != nil || rc.Flush() != nil {
				return
			}
		}
		if j.Status.Terminal() {
			fmt.Fprintf(w, "event: end\ndata: %s\n\n", b)
			rc.Flush()
			return
		}
	}
}

func (s *server) statusJSON(j *build.Job) jobStatusJSON {
	out := jobStatusJSON{ID: j.ID, Status: string(j.Status), Tasks: []taskJSON{}}
	for _, t := range j.Tasks {
		out.Tasks = append(out.Tasks, taskJSON{Name: t.Name, Status: string(t.Status)})
	}
	return out
}
