package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"builds/internal/build"
	"builds/internal/httpx"
	"builds/internal/submit"
	"builds/internal/web/ansi"
)

// tailSize is how much of each log the job page shows; the raw log link
// has the rest. A job with many tasks shows less of each, so that the
// page holds at most pageLogBytes of log text (and never under
// minTailSize of each log).
const (
	tailSize     = 128 << 10
	pageLogBytes = 2 << 20
	minTailSize  = 16 << 10
)

// tailFor is how much of each of n logs one page shows.
func tailFor(n int) int64 {
	return min(tailSize, max(minTailSize, int64(pageLogBytes/max(n, 1))))
}

func (s *Server) jobRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /job/{id}", s.handleJobRedirect)
	m.HandleFunc("GET /{owner}/job/{id}", s.handleJob)
	m.HandleFunc("GET /{owner}/job/{id}/status.json", s.handleJobStatus)
	m.HandleFunc("GET /{owner}/job/{id}/events", s.handleJobEvents)
	m.HandleFunc("GET /{owner}/job/{id}/log", s.handleRawLog)
	m.HandleFunc("GET /{owner}/job/{id}/{task}/log", s.handleRawLog)
	m.HandleFunc("GET /{owner}/job/{id}/manifest", s.handleRawManifest)
	m.HandleFunc("POST /cancel/{id}", s.post(false, s.handleCancel))
	m.HandleFunc("GET /resubmit/{id}", s.signedIn(s.handleResubmitForm))
	m.HandleFunc("POST /resubmit/{id}", s.post(false, s.handleResubmit))
}

// visibleJob loads the job named by the request's {id} (and {owner}, when
// present) if the viewer may see it. A job that exists under another
// owner's name is redirected to its canonical address by GET handlers.
func (s *Server) visibleJob(r *http.Request) (*build.Job, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return nil, build.Errorf(build.ENOTFOUND, "There is no such job.")
	}
	j, err := s.opt.Submit.Job(r.Context(), userFrom(r.Context()), id)
	if err != nil {
		return nil, err
	}
	if owner := r.PathValue("owner"); owner != "" && owner != "~"+j.Owner {
		return nil, build.Errorf(build.ENOTFOUND, "There is no such job.")
	}
	return j, nil
}

// logView is one log as the job page shows it.
type logView struct {
	Key       string // "setup" or the task's name
	Title     string
	Status    string
	Duration  string
	HTML      template.HTML // complete lines
	Partial   template.HTML // the line being written
	Offset    int64         // where live updates continue: the partial line's start
	Truncated bool
	Exists    bool
	RawURL    string
}

type jobView struct {
	Job       *build.Job
	Owner     bool
	Live      bool
	Logs      []logView
	Artifacts []*build.Artifact
}

func (v *jobView) refresh() int {
	if v.Live {
		return 5
	}
	return 0
}

// handleJobRedirect sends /job/<id> to the job's canonical address.
func (s *Server) handleJobRedirect(w http.ResponseWriter, r *http.Request) {
	j, err := s.visibleJob(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, jobURL(j), http.StatusFound)
}

func (s *Server) handleJob(w http.ResponseWriter, r *http.Request) {
	j, err := s.visibleJob(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := &jobView{Job: j, Live: !j.Status.Terminal()}
	if u := userFrom(r.Context()); u != nil && u.ID == j.OwnerID {
		v.Owner = true
	}
	v.Logs = s.readLogs(r.Context(), j)
	if j.Status == build.JobSuccess {
		v.Artifacts, err = s.opt.Store.ListArtifacts(r.Context(), j.ID)
		if err != nil {
			s.log.Error("list artifacts", "job", j.ID, "err", err)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "job", fmt.Sprintf("#%d", j.ID), v)
}

// readLogs renders the tail of the job's own log and of each task's, read
// at the same time: they may be on a runner, a round trip away.
func (s *Server) readLogs(ctx context.Context, j *build.Job) []logView {
	base := jobURL(j)
	out := make([]logView, len(j.Tasks)+1)
	size := tailFor(len(out))
	var wg sync.WaitGroup
	wg.Go(func() { out[0] = s.readLog(ctx, j, "", base+"/log", size) })
	now := time.Now()
	for i, t := range j.Tasks {
		wg.Go(func() {
			lv := s.readLog(ctx, j, t.Name, base+"/"+t.Name+"/log", size)
			lv.Status = string(t.Status)
			lv.Duration = fmtDuration(taskDuration(j, i, now))
			out[i+1] = lv
		})
	}
	wg.Wait()
	return out
}

// readLog renders the last size bytes of one log.
func (s *Server) readLog(ctx context.Context, j *build.Job, task, raw string, size int64) logView {
	v := logView{Key: task, Title: task, RawURL: raw}
	if task == "" {
		v.Key, v.Title = "setup", "setup"
	}
	data, start, err := s.opt.Logs.Tail(ctx, j.ID, task, size)
	if err != nil {
		if build.ErrorCode(err) == build.EINTERNAL {
			s.log.Error("read log", "job", j.ID, "task", task, "err", err)
		}
		return v
	}
	v.Exists = true
	if start > 0 {
		// Drop the cut first line.
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data, start = data[i+1:], start+int64(i+1)
		}
		v.Truncated = true
	}
	cut := bytes.LastIndexByte(data, '\n') + 1
	var c ansi.Converter
	v.HTML = template.HTML(c.Write(data[:cut]))
	c.Write(data[cut:])
	v.Partial = template.HTML(c.Partial())
	v.Offset = start + int64(cut)
	return v
}

// jobStatus is the JSON the job page's script polls and streams.
type jobStatus struct {
	ID       int64        `json:"id"`
	Status   string       `json:"status"`
	Runner   string       `json:"runner"`
	Duration string       `json:"duration"`
	Since    string       `json:"since,omitempty"` // when a running job started
	Tasks    []taskStatus `json:"tasks"`
}

type taskStatus struct {
	Name     string `json:"name"`
	Status   string `json:"status"`
	Duration string `json:"duration"`
}

func statusOf(j *build.Job, now time.Time) jobStatus {
	st := jobStatus{ID: j.ID, Status: string(j.Status), Runner: j.Runner,
		Duration: fmtDuration(jobDuration(j, now)), Tasks: []taskStatus{}}
	if j.Status == build.JobRunning {
		st.Since = j.Updated.UTC().Format(time.RFC3339)
	}
	for i, t := range j.Tasks {
		st.Tasks = append(st.Tasks, taskStatus{Name: t.Name, Status: string(t.Status),
			Duration: fmtDuration(taskDuration(j, i, now))})
	}
	return st
}

func (s *Server) handleJobStatus(w http.ResponseWriter, r *http.Request) {
	j, err := s.visibleJob(r)
	if err != nil {
		http.Error(w, build.ErrorMessage(err), httpx.HTTPStatus(build.ErrorCode(err)))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(statusOf(j, time.Now()))
}

func (s *Server) handleRawLog(w http.ResponseWriter, r *http.Request) {
	j, err := s.visibleJob(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	task := r.PathValue("task")
	if task != "" && j.Task(task) == nil {
		s.notFound(w, r)
		return
	}
	if !j.Status.Terminal() {
		w.Header().Set("Cache-Control", "no-store")
	}
	s.opt.Logs.ServeLog(w, r, j.ID, task)
}

func (s *Server) handleRawManifest(w http.ResponseWriter, r *http.Request) {
	j, err := s.visibleJob(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, j.Manifest)
}

func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request, u *build.User) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	j, err := s.opt.Submit.Cancel(r.Context(), u, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, jobURL(j), http.StatusSeeOther)
}

// handleResubmitForm opens the submit page filled in from an existing job.
func (s *Server) handleResubmitForm(w http.ResponseWriter, r *http.Request, u *build.User) {
	j, err := s.visibleJob(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := submitForm{
		Manifest: j.Manifest, Note: resubmitNote(j), Tags: strings.Join(j.Tags, "/"),
		Visibility: string(j.Visibility), Secrets: j.Secrets && j.OwnerID == u.ID, Execute: true,
	}
	s.renderSubmit(w, r, http.StatusOK, f)
}

// handleResubmit submits an existing job's manifest again, unchanged.
func (s *Server) handleResubmit(w http.ResponseWriter, r *http.Request, u *build.User) {
	j, err := s.visibleJob(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	nj, err := s.opt.Submit.Submit(r.Context(), u, submit.SubmitInput{
		Manifest: j.Manifest, Tags: j.Tags, Note: resubmitNote(j),
		Secrets: j.Secrets && j.OwnerID == u.ID, Execute: true, Visibility: j.Visibility,
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, jobURL(nj), http.StatusSeeOther)
}

func resubmitNote(j *build.Job) string {
	if strings.HasPrefix(j.Note, "Resubmission of #") || j.Note == "" {
		return fmt.Sprintf("Resubmission of #%d", j.ID)
	}
	return j.Note
}
