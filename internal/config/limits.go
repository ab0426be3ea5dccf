package config

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The settings in this file bound what one build, or one request, can
// cost the service: response sizes and times, log and artifact sizes, and
// where artifacts are served from.

// secAPI is builds.sr.ht's section for its API service.
const secAPI = "builds.sr.ht::api"

// API is the [builds.sr.ht::api] section: the bounds of one GraphQL
// request.
type API struct {
	MaxComplexity int           // max-complexity: cost points per operation
	MaxDepth      int           // max-depth: nested selections per operation
	MaxDuration   time.Duration // max-duration: time per request
	// MaxLogBytes is max-log-bytes (ours): log text one response may
	// carry in all; fields past it answer an error naming the full log's
	// URL.
	MaxLogBytes int64
	// LogBytesInFlight is log-bytes-in-flight (ours): log text all
	// requests together may hold in memory at once; a request waits for
	// room (up to max-duration).
	LogBytesInFlight int64
}

// Limits are a runner's bounds on one job, in [builds.sr.ht::worker].
type Limits struct {
	MaxLogBytes       int64 // max-log-size (ours): all logs of a job together
	MaxArtifactBytes  int64 // max-artifact-size (ours): one artifact
	MaxArtifactsBytes int64 // max-artifacts-size (ours): all artifacts of a job
	// MinFreeBytes is min-free-space (ours): the runner takes no job while
	// the disk of its logs or artifacts has less free space.
	MinFreeBytes int64
}

// defaultLimits fills in the defaults of this file's settings.
func (c *Config) defaultLimits() {
	c.API = API{
		MaxComplexity: 250, MaxDepth: 16, MaxDuration: 3 * time.Second,
		MaxLogBytes: 1 << 20, LogBytesInFlight: 8 << 20,
	}
	c.Worker.Limits = Limits{
		MaxLogBytes: 64 << 20, MaxArtifactBytes: 256 << 20, MaxArtifactsBytes: 1 << 30,
		MinFreeBytes: 1 << 30,
	}
	c.NoRunnerWait = 10 * time.Minute
}

// applyLimits reads this file's settings.
func (r *reader) applyLimits(c *Config) {
	r.str(&c.ArtifactsOrigin, secBuilds, "artifacts-origin")
	r.duration(&c.NoRunnerWait, secBuilds, "no-runner-wait")
	r.integer(&c.API.MaxComplexity, secAPI, "max-complexity", 10)
	r.integer(&c.API.MaxDepth, secAPI, "max-depth", 3)
	r.duration(&c.API.MaxDuration, secAPI, "max-duration")
	r.size(&c.API.MaxLogBytes, secAPI, "max-log-bytes", 128<<10)
	r.size(&c.API.LogBytesInFlight, secAPI, "log-bytes-in-flight", 1<<20)
	l := &c.Worker.Limits
	r.size(&l.MaxLogBytes, secWorker, "max-log-size", 64<<10)
	r.size(&l.MaxArtifactBytes, secWorker, "max-artifact-size", 1)
	r.size(&l.MaxArtifactsBytes, secWorker, "max-artifacts-size", 1)
	r.size(&l.MinFreeBytes, secWorker, "min-free-space", 0)
}

// validateLimits checks the settings that depend on others.
func (r *reader) validateLimits(c *Config) {
	if c.ArtifactsOrigin != "" {
		u, err := url.Parse(c.ArtifactsOrigin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			r.bad(secBuilds, "artifacts-origin", c.ArtifactsOrigin, "expected an origin such as https://artifacts.builds.example.org")
		}
		c.ArtifactsOrigin = strings.TrimSuffix(c.ArtifactsOrigin, "/")
		if c.ArtifactsOrigin == strings.TrimSuffix(c.Origin, "/") {
			r.bad(secBuilds, "artifacts-origin", c.ArtifactsOrigin, "must differ from origin: artifacts are served from their own origin so that they cannot script the web UI")
		}
	}
	if l := c.Worker.Limits; l.MaxArtifactBytes > l.MaxArtifactsBytes {
		r.bad(secWorker, "max-artifact-size", FormatSize(l.MaxArtifactBytes), "must not exceed max-artifacts-size ("+FormatSize(l.MaxArtifactsBytes)+")")
	}
}

// size reads a byte count: a whole number with an optional K, M, G or T
// suffix (powers of 1024; "KiB", "MB" and the like are read the same).
func (r *reader) size(dst *int64, sec, name string, min int64) {
	k, ok := r.key(sec, name)
	if !ok {
		return
	}
	n, err := ParseSize(k.String())
	if err != nil || n < min {
		r.bad(sec, name, k.String(), fmt.Sprintf("expected a size of at least %s such as 512M or 2G", FormatSize(min)))
		return
	}
	*dst = n
}

// ParseSize reads "123", "64K", "512M", "2G", "1T" (powers of 1024; a
// trailing "B" or "iB" is allowed).
func ParseSize(s string) (int64, error) {
	v := strings.ToUpper(strings.TrimSpace(s))
	v = strings.TrimSuffix(strings.TrimSuffix(v, "B"), "I")
	mult := int64(1)
	if v != "" {
		if i := strings.IndexByte("KMGT", v[len(v)-1]); i >= 0 {
			mult = int64(1) << (10 * (i + 1))
			v = v[:len(v)-1]
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q: expected a whole number with an optional K, M, G or T suffix", s)
	}
	return n * mult, nil
}

// FormatSize writes n bytes the way ParseSize reads them, in the largest
// unit that divides it ("64M"), or in bytes.
func FormatSize(n int64) string {
	for i, u := range []string{"T", "G", "M", "K"} {
		m := int64(1) << (10 * (4 - i))
		if n >= m && n%m == 0 {
			return strconv.FormatInt(n/m, 10) + u
		}
	}
	return strconv.FormatInt(n, 10)
}
