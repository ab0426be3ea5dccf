package main

import (
	"net/http"
	"strconv"
	"time"

	"builds/internal/config"
	"builds/internal/runner"
)

// setRunnerLimits gives a runner the per-job caps of the configuration and
// calls onFull (which may be nil) when it stops or resumes taking jobs for
// lack of disk space.
func setRunnerLimits(r *runner.Runner, cfg *config.Config, onFull func(reason string)) {
	l := cfg.Worker.Limits
	r.MaxLogBytes, r.MaxArtifactBytes, r.MaxArtifactsBytes = l.MaxLogBytes, l.MaxArtifactBytes, l.MaxArtifactsBytes
	r.MinFreeBytes, r.OnFull = l.MinFreeBytes, onFull
}

// artifactURL is where an artifact stored by this host is downloaded:
// under artifacts-origin when set, so that it is served from an origin of
// its own, else under base.
func artifactURL(cfg *config.Config, base string) func(int64, string) string {
	if cfg.ArtifactsOrigin != "" {
		base = cfg.ArtifactsOrigin
	}
	return func(id int64, name string) string {
		return base + "/artifacts/" + strconv.FormatInt(id, 10) + "/" + name
	}
}

// newHTTPServer returns a server that bounds slow request headers and
// idle connections. It sets no ReadTimeout or WriteTimeout: both would
// also end log streams, which stay open as long as their job runs (a
// read deadline that passes while a handler runs cancels its request).
// GraphQL requests bound their own body and run time instead.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}
