package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"builds/internal/api"
	"builds/internal/build"
	"builds/internal/httpx"
	"builds/internal/logs"
	"builds/internal/vm"
	"builds/internal/web"
)

// routes builds the master's HTTP handler: the web UI at /, the APIs at
// /query and /api/, logs at /logs/, artifacts, metrics and a health check.
func (m *master) routes(images *imageList) error {
	webKey, err := keyFile(filepath.Join(m.cfg.DataDir, "web.key"))
	if err != nil {
		return err
	}
	streams := &httpx.Streams{Max: m.cfg.StreamsPerClient}
	ui, err := web.New(web.Options{
		Store: m.store, Submit: m.submit, Logs: m.logReader(), SiteName: m.cfg.SiteName,
		Origin: m.cfg.Origin, Key: webKey, NewToken: httpx.NewToken, Images: images.names,
		Admin: m.admin(), Watch: m.life.Bus().WatchJob, Streams: streams,
	})
	if err != nil {
		return fmt.Errorf("start web UI: %w", err)
	}
	m.ui = ui
	apiHandler := api.New(api.Options{
		Store: m.store, Submit: m.submit, Logs: logSource{m}, Origin: m.cfg.Origin,
		Version: Version, BuildTimeout: m.cfg.Worker.Timeout, SSHUser: m.cfg.SSHUser,
		Watch: m.life.Bus().WatchJob, Streams: streams,
		Limits: api.Limits{MaxComplexity: m.cfg.API.MaxComplexity, MaxDepth: m.cfg.API.MaxDepth,
			MaxDuration: m.cfg.API.MaxDuration, MaxLogBytes: m.cfg.API.MaxLogBytes,
			LogBytesInFlight: m.cfg.API.LogBytesInFlight},
	})
	mux := http.NewServeMux()
	mux.Handle("/query", apiHandler)
	mux.Handle("/query/api-meta.json", apiHandler)
	mux.Handle("/api/", apiHandler)
	var logHandler http.Handler = logs.NewHandler(m.logs, m.canSeeJob)
	if m.dist != nil && m.dist.Logs != nil {
		logHandler = m.dist.Logs
	}
	logsH := api.RefuseBadTokens(m.store, streams.Limit(logHandler, logs.IsStream))
	mux.Handle("/logs/", logsH)
	mux.Handle("/artifacts/{job}/{name}", api.RefuseBadTokens(m.store, httpx.Artifacts(m.cfg.Worker.Artifacts, m.canSeeJob)))
	mux.Handle("/query/log/", queryLogs(logsH))
	mux.Handle("GET /metrics", m.metrics.Handler())
	mux.HandleFunc("GET /healthz", m.healthz)
	mux.Handle("/", ui)
	m.handler = mux
	return nil
}

// queryLogs serves /query/log/JOB/log and /query/log/JOB/TASK/log, where
// builds.sr.ht's GraphQL API points Log.fullURL, with the same handler
// (and access checks) as /logs/.
func queryLogs(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/logs/" + strings.TrimPrefix(r.URL.Path, "/query/log/")
		r2.URL.RawPath = ""
		h.ServeHTTP(w, r2)
	})
}

// logReader is where the master's own pages read logs: its log directory
// on one host, the log proxy (runners' copies first) when runners are
// remote.
func (m *master) logReader() web.LogReader {
	if m.dist != nil && m.dist.Logs != nil {
		return m.dist.Logs
	}
	return m.logs
}

func (m *master) healthz(w http.ResponseWriter, r *http.Request) {
	if err := m.store.Ping(r.Context()); err != nil {
		http.Error(w, "database unreachable", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

// canSeeJob applies the visibility rules to log and artifact requests,
// which may carry a token (with the LOGS grant) or a web session.
func (m *master) canSeeJob(r *http.Request, jobID int64) bool {
	a := httpx.Access{Jobs: m.store, Tokens: m.store, Session: m.ui.SessionUser}
	return a.CanSeeJob(r, jobID)
}

// logSource gives the API the URLs and tails of logs, wherever they are.
type logSource struct{ m *master }

// FullURL is under /query/log/, as on builds.sr.ht.
func (s logSource) FullURL(j *build.Job, t *build.Task) string {
	u := fmt.Sprintf("%s/query/log/%d/", s.m.cfg.Origin, j.ID)
	if t != nil {
		u += t.Name + "/"
	}
	return u + "log"
}

func (s logSource) Last128KiB(ctx context.Context, j *build.Job, t *build.Task) (string, error) {
	name := ""
	if t != nil {
		name = t.Name
	}
	b, _, err := s.m.logReader().Tail(ctx, j.ID, name, 128<<10)
	return string(b), err
}

// localAdmin feeds the admin page with the in-process runner and queue.
type localAdmin struct{ m *master }

func (a localAdmin) Runners(ctx context.Context) []web.RunnerInfo {
	r := a.m.runner
	return []web.RunnerInfo{{Name: localRunnerName, Arches: r.Arches, Jobs: r.Running()}}
}

func (a localAdmin) QueueDepth(ctx context.Context) int { return a.m.queue.Len() }

// imageList remembers the installed images for a few seconds, so that each
// submission does not read the images directory.
type imageList struct {
	dir  string
	mu   sync.Mutex
	at   time.Time
	list []string
}

func imageLister(dir string) *imageList { return &imageList{dir: dir} }

func (l *imageList) names() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(l.at) < 5*time.Second {
		return l.list
	}
	infos, err := vm.Images(l.dir)
	if err != nil {
		return l.list
	}
	var names []string
	for _, i := range infos {
		if !slices.Contains(names, i.Name) {
			names = append(names, i.Name)
		}
	}
	l.list, l.at = names, time.Now()
	return names
}
