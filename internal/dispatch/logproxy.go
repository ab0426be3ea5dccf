package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	"builds/internal/untrusted"
	"builds/internal/wire"
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
	opts.Prefix = wire.OrPrefix(opts.Prefix)
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
	p.serve(w, r, id)
}

// serve proxies r, a request for a log of job id whose access was checked.
func (p *LogProxy) serve(w http.ResponseWriter, r *http.Request, id int64) {
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
	token := wire.SignLogToken(p.opts.LogKey, id, time.Now().Add(tokenTTL))
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = target
			pr.Out.Host = target.Host
			// The user's credentials are the master's business only.
			for _, h := range []string{"Cookie", "Authorization", "X-Forwarded-For", "Forwarded"} {
				pr.Out.Header.Del(h)
			}
			pr.Out.Header.Set(wire.LogTokenHeader, token)
		},
		Transport:     p.opts.Transport,
		FlushInterval: -1,
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode >= 500 || (resp.StatusCode == http.StatusNotFound && p.hasLocal(r)) {
				resp.Body.Close()
				return fmt.Errorf("runner answered %s", resp.Status)
			}
			untrusted.Headers(resp.Header) // whatever the runner sent
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

// The methods below read logs for the master's own pages (the web UI's job
// pages), with the same runner addresses, tokens and fallback to the
// master's copy as the handler; the caller has checked access.

// fetchTimeout bounds a request for a log's tail from a runner.
const fetchTimeout = 10 * time.Second

// runnerWait is how often Follow looks whether a queued job has a runner.
const runnerWait = 500 * time.Millisecond

// Tail returns the last n bytes of a job's log (task "" for the job's own
// log) and the offset where they start, fetched from the job's runner
// with a Range request, or from the master's copy when the job has no
// runner, the runner cannot be reached or does not have the log. A log
// that is nowhere is an ENOTFOUND error.
func (p *LogProxy) Tail(ctx context.Context, jobID int64, task string, n int64) ([]byte, int64, error) {
	j, err := p.opts.Jobs.Job(ctx, jobID)
	if err != nil {
		return nil, 0, err
	}
	if j.Runner == "" {
		return p.localTail(ctx, jobID, task, n)
	}
	fctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	resp, err := p.fetch(fctx, p.logURL(ctx, j, task), jobID, http.Header{"Range": {fmt.Sprintf("bytes=-%d", n)}})
	if err != nil {
		slog.Info("log proxy: runner unavailable; reading the master's copy", "job", jobID, "err", err)
		return p.localTail(ctx, jobID, task, n)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		return p.localTail(ctx, jobID, task, n)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, fmt.Errorf("read the log of job %d from its runner: %w", jobID, err)
	}
	start, ok := rangeStart(resp.Header.Get("Content-Range"))
	if resp.StatusCode == http.StatusOK || !ok {
		start = max(int64(len(b))-n, 0) // the runner sent the whole log
		b = b[start:]
	}
	if start > 0 {
		cut := logs.TrimPartialRune(b)
		b, start = b[cut:], start+int64(cut)
	}
	return b, start, nil
}

// rangeStart returns the first offset of a "bytes first-last/size" header.
func rangeStart(h string) (int64, bool) {
	rest, ok := strings.CutPrefix(h, "bytes ")
	first, _, found := strings.Cut(rest, "-")
	n, err := strconv.ParseInt(first, 10, 64)
	return n, ok && found && err == nil && n >= 0
}

// Follow calls fn with a job's log from offset on as it is written, as
// logs.Dir.Follow does, streaming it from the runner's ?follow=1. While
// the job waits for a runner it waits too; a job that ended without one,
// or whose runner cannot be reached, is followed in the master's copy.
func (p *LogProxy) Follow(ctx context.Context, jobID int64, task string, offset int64, fn func([]byte) error) error {
	target, err := p.awaitRunner(ctx, jobID, task)
	if err != nil {
		return err
	}
	if target == nil {
		return p.localFollow(ctx, jobID, task, offset, fn)
	}
	q := target.Query()
	q.Set("follow", "1")
	q.Set("offset", strconv.FormatInt(offset, 10))
	target.RawQuery = q.Encode()
	resp, err := p.fetch(ctx, target, jobID, nil)
	if err == nil && resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		err = fmt.Errorf("runner answered %s", resp.Status)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		slog.Info("log proxy: runner unavailable; following the master's copy", "job", jobID, "err", err)
		return p.localFollow(ctx, jobID, task, offset, fn)
	}
	defer resp.Body.Close()
	return copyChunks(ctx, resp.Body, fn)
}

// copyChunks hands fn what r yields, as it comes, until r ends.
func copyChunks(ctx context.Context, r io.Reader, fn func([]byte) error) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if err := fn(buf[:n]); err != nil {
				return err
			}
		}
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			return fmt.Errorf("follow a log on its runner: %w", err)
		}
	}
}

// awaitRunner returns the address of the job's log on its runner once the
// job has one, or nil when the job ended without one.
func (p *LogProxy) awaitRunner(ctx context.Context, jobID int64, task string) (*url.URL, error) {
	for {
		j, err := p.opts.Jobs.Job(ctx, jobID)
		if err != nil {
			return nil, err
		}
		if j.Runner != "" {
			return p.logURL(ctx, j, task), nil
		}
		if j.Status.Terminal() {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(runnerWait):
		}
	}
}

// ServeLog answers a plain request (Range included) for a job's log, as
// ServeHTTP does for /logs/, without the access check: the caller made it.
func (p *LogProxy) ServeLog(w http.ResponseWriter, r *http.Request, jobID int64, task string) {
	out := r.Clone(r.Context())
	out.URL.Path, out.URL.RawPath, out.URL.RawQuery = logURLPath(jobID, task), "", ""
	out.Header.Del("Accept") // no event stream: the whole log as it is now
	p.serve(w, out, jobID)
}

// logURLPath is the path of a job's log under /logs/.
func logURLPath(jobID int64, task string) string {
	if task == "" {
		return fmt.Sprintf("/logs/%d/log", jobID)
	}
	return fmt.Sprintf("/logs/%d/%s/log", jobID, url.PathEscape(task))
}

// logURL returns the address of a log of j on j's runner.
func (p *LogProxy) logURL(ctx context.Context, j *build.Job, task string) *url.URL {
	base := strings.TrimSuffix(p.LogBase(ctx, j.ID, j.Runner), "/")
	u, err := url.Parse(base + strings.TrimPrefix(logURLPath(j.ID, task), "/logs"))
	if err != nil {
		// An address the runner reported that does not parse: try the
		// runner's name, as LogBase would without one.
		u = &url.URL{Scheme: "http", Host: j.Runner, Path: logURLPath(j.ID, task)}
	}
	return u
}

// fetch GETs target from a runner with a token for job id.
func (p *LogProxy) fetch(ctx context.Context, target *url.URL, id int64, h http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set(wire.LogTokenHeader, wire.SignLogToken(p.opts.LogKey, id, time.Now().Add(tokenTTL)))
	return (&http.Client{Transport: p.opts.Transport}).Do(req)
}

func (p *LogProxy) localTail(ctx context.Context, jobID int64, task string, n int64) ([]byte, int64, error) {
	if p.opts.Local == nil {
		return nil, 0, build.Errorf(build.ENOTFOUND, "log not found")
	}
	return p.opts.Local.Tail(ctx, jobID, task, n)
}

func (p *LogProxy) localFollow(ctx context.Context, jobID int64, task string, offset int64, fn func([]byte) error) error {
	if p.opts.Local == nil {
		<-ctx.Done() // nothing will ever be written
		return ctx.Err()
	}
	return p.opts.Local.Follow(ctx, jobID, task, offset, fn)
}
