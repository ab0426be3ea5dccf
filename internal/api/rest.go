package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"builds/internal/build"
	"builds/internal/manifest"
	"builds/internal/store"
	"builds/internal/submit"
)

// routeREST mounts builds.sr.ht's legacy REST API. Every route checks the
// caller's token grants and the job's visibility, as GraphQL does.
func (s *server) routeREST(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/jobs", s.rest(build.ScopeJobs, false, s.listJobs))
	mux.HandleFunc("POST /api/jobs", s.rest(build.ScopeJobs, true, s.postJob))
	mux.HandleFunc("GET /api/jobs/{id}", s.rest(build.ScopeJobs, false, s.getJob))
	mux.HandleFunc("GET /api/jobs/{id}/manifest", s.rest(build.ScopeJobs, false, s.getManifest))
	mux.HandleFunc("GET /api/jobs/{id}/artifacts", s.rest(build.ScopeJobs, false, s.getArtifacts))
	mux.HandleFunc("POST /api/jobs/{id}/start", s.rest(build.ScopeJobs, true, s.jobAction(s.opts.Submit.Start)))
	mux.HandleFunc("POST /api/jobs/{id}/cancel", s.rest(build.ScopeJobs, true, s.jobAction(s.opts.Submit.Cancel)))
	mux.HandleFunc("POST /api/job-group", s.rest(build.ScopeJobs, true, s.postGroup))
	mux.HandleFunc("GET /api/job-group/{id}", s.rest(build.ScopeJobs, false, s.getGroup))
	mux.HandleFunc("POST /api/job-group/{id}/start", s.rest(build.ScopeJobs, true, s.groupAction(s.opts.Submit.StartGroup)))
	mux.HandleFunc("POST /api/job-group/{id}/cancel", s.rest(build.ScopeJobs, true, s.groupAction(s.opts.Submit.CancelGroup)))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, build.ENOTFOUND, fmt.Sprintf("no API route %s %s", r.Method, r.URL.Path))
	})
}

// restHandler handles one REST route and returns the value to send as
// JSON (a string is sent as text/plain) or an error.
type restHandler func(ctx context.Context, r *http.Request) (any, error)

// rest wraps a route with the grant check, body limit and error mapping.
func (s *server) rest(scope build.Scope, write bool, h restHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := allows(r.Context(), scope, write); err != nil {
			s.writeError(w, r, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBody)
		v, err := h(r.Context(), r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if text, ok := v.(string); ok {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, text)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// pathID reads the {id} path parameter.
func pathID(r *http.Request) (int64, error) {
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, build.Errorf(build.ENOTFOUND, "%q is not a valid ID; IDs are positive integers", raw)
	}
	return id, nil
}

// decodeBody reads a JSON request body into v. Unknown fields are ignored,
// as builds.sr.ht ignores them: clients written for it send fields we have
// no use for.
func decodeBody(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return build.Errorf(build.EINVALID, "send the request body as JSON (Content-Type: application/json), not %s", ct)
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return build.Errorf(build.EINVALID, "the request body is larger than %d bytes", tooBig.Limit)
		}
		if errors.Is(err, io.EOF) {
			return build.Errorf(build.EINVALID, "the request body is empty; send a JSON object")
		}
		return build.Errorf(build.EINVALID, "invalid JSON request body: %v", err)
	}
	return nil
}

// ownerJSON is a user as builds.sr.ht's legacy API shows one.
type ownerJSON struct {
	CanonicalName string `json:"canonical_name"`
	Name          string `json:"name"`
}

type taskJSON struct {
	Name   string  `json:"name"`
	Status string  `json:"status"`
	Log    *string `json:"log"`
}

// jobJSON is a job as the legacy API shows it. Tags are one string joined
// with "/", as builds.sr.ht stored and returned them.
type jobJSON struct {
	ID         int64      `json:"id"`
	Status     string     `json:"status"`
	SetupLog   *string    `json:"setup_log"`
	Tasks      []taskJSON `json:"tasks"`
	Note       *string    `json:"note"`
	Runner     *string    `json:"runner"`
	Tags       *string    `json:"tags"`
	Owner      ownerJSON  `json:"owner"`
	Image      string     `json:"image"`
	Visibility string     `json:"visibility"`
	Created    string     `json:"created"`
	Updated    string     `json:"updated"`
	URL        string     `json:"url,omitempty"` // the job's web page
	// Warnings, only in the answer to a submission, list what the manifest
	// holds that was accepted but is ignored (e.g. unknown keys).
	Warnings []string `json:"warnings,omitempty"`
}

func (s *server) jobJSON(j *build.Job) jobJSON {
	out := jobJSON{
		ID: j.ID, Status: string(j.Status), Note: optString(j.Note), Runner: optString(j.Runner),
		Tags:  optString(strings.Join(j.Tags, "/")),
		Owner: ownerJSON{CanonicalName: "~" + j.Owner, Name: j.Owner},
		Image: j.Image, Visibility: string(j.Visibility),
		Created: j.Created.UTC().Format(time.RFC3339), Updated: j.Updated.UTC().Format(time.RFC3339),
		Tasks: make([]taskJSON, len(j.Tasks)),
	}
	if s.opts.Origin != "" {
		out.URL = fmt.Sprintf("%s/~%s/job/%d", strings.TrimRight(s.opts.Origin, "/"), j.Owner, j.ID)
	}
	logs := s.opts.Logs != nil && hasLog(j)
	if logs {
		out.SetupLog = optString(s.opts.Logs.FullURL(j, nil))
	}
	for i := range j.Tasks {
		t := &j.Tasks[i]
		out.Tasks[i] = taskJSON{Name: t.Name, Status: string(t.Status)}
		if logs {
			out.Tasks[i].Log = optString(s.opts.Logs.FullURL(j, t))
		}
	}
	return out
}

// restPageSize is how many results one page of a REST listing holds, as
// on builds.sr.ht.
const restPageSize = 50

// restPage is a page of a REST listing in builds.sr.ht's shape: next is the
// ID (as a string) to pass as ?start= for the following page, or null;
// total counts every result of all pages.
type restPage struct {
	Next           *string `json:"next"`
	Results        any     `json:"results"`
	Total          int64   `json:"total"`
	ResultsPerPage int     `json:"results_per_page"`
}

// listJobs is GET /api/jobs: the caller's jobs, newest first, 50 a page;
// ?start=<next> starts the page at that job ID (included), as on
// builds.sr.ht.
func (s *server) listJobs(ctx context.Context, r *http.Request) (any, error) {
	u, err := me(ctx)
	if err != nil {
		return nil, err
	}
	f := store.JobFilter{OwnerID: u.ID, Limit: restPageSize + 1}
	if start := r.URL.Query().Get("start"); start != "" {
		n, err := strconv.ParseInt(start, 10, 64)
		if err != nil || n <= 0 || n == math.MaxInt64 {
			return nil, inField("start", build.Errorf(build.EINVALID, "start=%q: pass the 'next' value of the previous page", start))
		}
		f.Before = n + 1
	}
	jobs, _, err := s.opts.Store.ListJobs(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	total, err := s.opts.Store.CountJobs(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	page := restPage{Total: total, ResultsPerPage: restPageSize}
	if len(jobs) > restPageSize {
		page.Next = optString(strconv.FormatInt(jobs[restPageSize].ID, 10))
		jobs = jobs[:restPageSize]
	}
	results := make([]jobJSON, len(jobs))
	for i, j := range jobs {
		results[i] = s.jobJSON(j)
	}
	page.Results = results
	return page, nil
}

// postJobBody is the body of POST /api/jobs.
type postJobBody struct {
	Manifest    *string  `json:"manifest"`
	Note        string   `json:"note"`
	Tags        []string `json:"tags"`
	Secrets     *bool    `json:"secrets"`
	Execute     *bool    `json:"execute"`
	Visibility  string   `json:"visibility"`
	Triggers    []any    `json:"triggers"`
	AccessRead  []string `json:"access:read"`
	AccessWrite []string `json:"access:write"`
}

func (s *server) postJob(ctx context.Context, r *http.Request) (any, error) {
	var body postJobBody
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if body.Manifest == nil {
		return nil, inField("manifest", build.Errorf(build.EINVALID, "manifest is required"))
	}
	if len(body.Triggers) > 0 {
		return nil, inField("triggers", build.Errorf(build.EINVALID, "per-job triggers are not accepted here; list them under 'triggers' in the manifest"))
	}
	canReadSecrets := allows(ctx, build.ScopeSecrets, false) == nil
	if deref(body.Secrets, false) && !canReadSecrets {
		return nil, allows(ctx, build.ScopeSecrets, false)
	}
	in := submit.SubmitInput{
		Manifest: *body.Manifest, Note: body.Note, Tags: body.Tags,
		Secrets: deref(body.Secrets, canReadSecrets && secretsDefault(ctx, *body.Manifest)), Execute: deref(body.Execute, true),
		Visibility: build.Visibility(strings.ToUpper(body.Visibility)),
	}
	j, err := s.opts.Submit.Submit(ctx, UserFromContext(ctx), in)
	var merr *manifest.Errors
	if errors.As(err, &merr) {
		return nil, inField("manifest", err)
	}
	if err != nil {
		return nil, err
	}
	out := s.jobJSON(j)
	out.Warnings = manifestWarnings(j.Manifest)
	return out, nil
}

// manifestWarnings lists the warnings of a stored job's manifest as
// "line L, column C: path: message" strings; nil when there are none.
func manifestWarnings(raw string) []string {
	m, err := manifest.Parse([]byte(raw))
	if err != nil || len(m.Warnings) == 0 {
		return nil
	}
	out := make([]string, len(m.Warnings))
	for i, w := range m.Warnings {
		out[i] = w.String()
	}
	return out
}
