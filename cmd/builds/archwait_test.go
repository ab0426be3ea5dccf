package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"builds/internal/testenv"
)

// TestJobForAnArchNoRunnerOffersFails checks both set-ups: on one host the
// submission is refused with the arches there are; with remote runners
// the job waits no-runner-wait, then fails with the reason in its log.
func TestJobForAnArchNoRunnerOffersFails(t *testing.T) {
	m := filepath.Join(t.TempDir(), "riscv.yml")
	if err := os.WriteFile(m, []byte("image: debian/bookworm\narch: riscv64\ntasks:\n  - a: echo hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	images := fakeImages(t)

	one := startServe(t, t.TempDir(), "BUILDS_CONFIG="+writeConf(t, "[builds.sr.ht::worker]\nimages = "+images+"\narches = amd64\n"))
	code, out := one.cli("submit", "--token", one.userToken("alice"), m)
	if want := `no runner here runs arch "riscv64"; available arches: amd64`; code == 0 || !strings.Contains(out, want) {
		t.Errorf("single host: submit exit %d, output %q lacks %q", code, out, want)
	}

	redis := testenv.StartRedis(t, testenv.RedisOptions{})
	s := startServe(t, t.TempDir(), "BUILDS_CONFIG="+writeConf(t, fmt.Sprintf(`[sr.ht]
network-key = %s
[builds.sr.ht]
redis = redis://%s
no-runner-wait = 1s
[builds.sr.ht::worker]
images = %s
`, newKeyForTest(), redis.Addr, images)))
	token := s.userToken("alice")
	if code, out := s.cli("submit", "--token", token, m); code != 0 {
		t.Fatalf("many hosts: submit exit %d: %s", code, out)
	}
	v := s.waitStatus(token, 1, 20*time.Second, "FAILED")
	want := "No runner takes jobs for arch riscv64 (no runner is registered); the job waited 1s (no-runner-wait) and has failed."
	if _, log := s.get(token, v.Job.Log.FullURL); !strings.Contains(log, want) {
		t.Errorf("the job's log lacks %q:\n%s", want, log)
	}
}
