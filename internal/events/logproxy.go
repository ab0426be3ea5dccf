package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"builds/internal/build"
	"builds/internal/logs"
)

// LogProxyOptions configure a LogProxy.
type LogProxyOptions struct {
	// Jobs finds a job's runner.
	Jobs interface {
		Job(ctx context.Context, id int64) (*build.Job, error)
	}
	// Allow is the master's access check; a refused request gets 404.
	Allow logs.AllowFunc
	// LogKey signs the tokens the runner asks for private jobs' logs.
	LogKey []byte
	// Local is the master's own log directory: served when the job has no
	// runner yet or its runner cannot be reached. May be nil.
	Local *logs.Dir
	// Private is the Redis where the master keeps each job's log address
	// (the master's private one, or the shared one when it has none).
	Private goredis.UniversalClient
	Prefix  string // the queue's key prefix; default "builds:"
	// Transport reaches the runners; http.DefaultTransport when nil.
	Transport http.RoundTripper
}

// LogProxy is the master's /logs/ handler in a distributed set-up: it
// checks access as the master does, then serves the job's logs from the
// runner that ran it (plain, Range, ?follow=1 and event streams alike,
// flushed as they come), signing a short-lived token so that the runner
// serves private jobs' logs to the master only. Mount it at "/logs/".
type LogProxy struct {
	opts  LogProxyOptions
	local http.Handler
}

// tokenTTL bounds a proxied request's token; a live follow keeps its
// connection past it, the token being checked only at the start.
const tokenTTL = 5 * time.Minute

// NewLogProxy returns a LogProxy.
func NewLogProxy(opts LogProxyOptions) (*LogProxy, error) {
	if opts.Jobs == nil || opts.Allow == nil {
		return nil, errors.New("log proxy: Jobs and Allow are required")
	}
	opts.Prefix = orPrefix(opts.Prefix)
	p := &LogProxy{opts: opts}
	if opts.Local != nil {
		p.local = logs.NewHandler(opts.Local, func(*http.Request, int64) bool { return true })
	}
	return p, nil
}

// ServeHTTP implements http.Handler.
func (p *LogProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := logJobID(r.URL.Path)
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) || !p.opts.Allow(r, id) {
		http.NotFound(w, r)
		return
	}
	j, err := p.opts.Jobs.Job(r.Context(), id)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	base := ""
	if j.Runner != "" {
		base = p.LogBase(r.Context(), j.ID, j.Runner)
	}
	if base == "" {
		p.serveLocal(w, r)
		return
	}
	target, err := url.Parse(strings.TrimSuffix(base, "/") + "/" + strings.TrimPrefix(r.URL.Path, "/logs/"))
	if err != nil {
		slog.Error("log proxy: bad runner log address", "job", id, "base", base, "err", err)
		p.serveLocal(w, r)
		return
	}
	target.RawQuery = r.URL.RawQuery
	p.proxy(w, r, id, target)
}

func (p *LogProxy) proxy(w http.ResponseWriter, r *http.Request, id int64, target *url.URL) {
	token := SignLogToken(p.opts.LogKey, id, time.Now().Add(tokenTTL))
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = target
			pr.Out.Host = target.Host
			// The user's credentials are the master's business only.
			for _, h := range []string{"Cookie", "Authorization", "X-Forwarded-For", "Forwarded"} {
				pr.Out.Header.Del(h)
			}
			pr.Out.Header.Set(LogTokenHeader, token)
		},
		Transport:     p.opts.Transport,
		FlushInterval: -1,
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode >= 500 || (resp.StatusCode == http.StatusNotFound && p.hasLocal(r)) {
				resp.Body.Close()
				return fmt.Errorf("runner answered %s", resp.Status)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			slog.Info("log proxy: runner unavailable; serving the master's copy", "job", id, "url", target.String(), "err", err)
			p.serveLocal(w, r)
		},
	}
	rp.ServeHTTP(w, r)
}

func (p *LogProxy) hasLocal(r *http.Request) bool {
	if p.opts.Local == nil {
		return false
	}
	id, task, ok := logPath(r.URL.Path)
	if !ok {
		return false
	}
	path, err := p.opts.Local.Path(id, task)
	if err != nil {
		return false
	}
	_, err = os.Stat(path)
	return err == nil
}

func (p *LogProxy) serveLocal(w http.ResponseWriter, r *http.Request) {
	if p.local == nil {
		http.Error(w, "the log is not available yet", http.StatusNotFound)
		return
	}
	p.local.ServeHTTP(w, r)
}

// LogBase returns the base URL of job id's logs on runner: the address the
// runner reported for the job in an authenticated event, else
// http://<runner>/logs/ (a runner's name is the host:port it is reached
// at). The runners' registry, which any runner can write, is not used.
func (p *LogProxy) LogBase(ctx context.Context, id int64, runner string) string {
	if p.opts.Private != nil {
		if u, err := p.opts.Private.Get(ctx, logURLKey(p.opts.Prefix, id)).Result(); err == nil && u != "" {
			return u
		}
	}
	return "http://" + runner + "/logs/"
}

// logJobID returns the job ID of a /logs/<id>/... path.
func logJobID(p string) (int64, bool) {
	rest, ok := strings.CutPrefix(p, "/logs/")
	if !ok {
		return 0, false
	}
	first, _, _ := strings.Cut(rest, "/")
	id, err := strconv.ParseInt(first, 10, 64)
	return id, err == nil && id > 0 && strconv.FormatInt(id, 10) == first
}

// logPath splits /logs/<id>/log and /logs/<id>/<task>/log.
func logPath(p string) (int64, string, bool) {
	id, ok := logJobID(p)
	if !ok {
		return 0, "", false
	}
	parts := strings.Split(strings.TrimPrefix(p, "/logs/"), "/")
	switch {
	case len(parts) == 2 && parts[1] == "log":
		return id, "", true
	case len(parts) == 3 && parts[2] == "log":
		return id, parts[1], true
	}
	return 0, "", false
}
