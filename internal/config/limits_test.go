package config_test

import (
	"strings"
	"testing"
	"time"

	"builds/internal/config"
)

func TestLimitsDefaultsAndKeys(t *testing.T) {
	t.Setenv(config.EnvFile, "")
	c, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if c.API.MaxComplexity != 250 || c.API.MaxDuration != 3*time.Second || c.Worker.Limits.MaxLogBytes != 64<<20 ||
		c.Worker.Limits.MinFreeBytes != 1<<30 || c.ArtifactsOrigin != "" || c.NoRunnerWait != 10*time.Minute {
		t.Errorf("defaults: %+v %+v %q %v", c.API, c.Worker.Limits, c.ArtifactsOrigin, c.NoRunnerWait)
	}
	c, err = config.Load(writeFile(t, `[builds.sr.ht]
origin = https://builds.example.org
artifacts-origin = https://artifacts.example.org/
no-runner-wait = 2m
[builds.sr.ht::api]
max-complexity = 100
max-depth = 8
max-duration = 5s
max-log-bytes = 512K
log-bytes-in-flight = 16M
[builds.sr.ht::worker]
max-log-size = 10MiB
max-artifact-size = 1G
max-artifacts-size = 2G
min-free-space = 0
`))
	if err != nil {
		t.Fatal(err)
	}
	want := config.API{MaxComplexity: 100, MaxDepth: 8, MaxDuration: 5 * time.Second, MaxLogBytes: 512 << 10, LogBytesInFlight: 16 << 20}
	if c.API != want {
		t.Errorf("API = %+v, want %+v", c.API, want)
	}
	wantL := config.Limits{MaxLogBytes: 10 << 20, MaxArtifactBytes: 1 << 30, MaxArtifactsBytes: 2 << 30}
	if c.Worker.Limits != wantL || c.ArtifactsOrigin != "https://artifacts.example.org" || c.NoRunnerWait != 2*time.Minute {
		t.Errorf("limits %+v, artifacts-origin %q, wait %v", c.Worker.Limits, c.ArtifactsOrigin, c.NoRunnerWait)
	}
}

func TestLimitsBadValues(t *testing.T) {
	_, err := config.Load(writeFile(t, `[builds.sr.ht]
origin = https://builds.example.org
artifacts-origin = https://builds.example.org
[builds.sr.ht::api]
max-log-bytes = lots
[builds.sr.ht::worker]
max-artifact-size = 2G
max-artifacts-size = 1G
`))
	if err == nil {
		t.Fatal("bad limits accepted")
	}
	for _, want := range []string{
		`[builds.sr.ht] artifacts-origin = "https://builds.example.org": must differ from origin`,
		`[builds.sr.ht::api] max-log-bytes = "lots": expected a size of at least 128K such as 512M or 2G`,
		`[builds.sr.ht::worker] max-artifact-size = "2G": must not exceed max-artifacts-size (1G)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
