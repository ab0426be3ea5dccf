package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"builds/internal/testenv"
)

// TestRunnerSaysWhenItsDiskIsLow starts a runner that must keep more disk
// free than any disk has: it takes no job and says why on /healthz.
func TestRunnerSaysWhenItsDiskIsLow(t *testing.T) {
	redis := testenv.StartRedis(t, testenv.RedisOptions{})
	rdir := t.TempDir()
	name := freeAddr(t)
	conf := writeConf(t, fmt.Sprintf(`[sr.ht]
network-key = %s
[builds.sr.ht]
redis = redis://%s
[builds.sr.ht::worker]
name = %s
bind-address = %s
images = %s
min-free-space = 1000T
`, newKeyForTest(), redis.Addr, name, name, fakeImages(t)))
	runner := exec.Command(binPath, "runner", "--config", conf, "--data", rdir, "--fake-vm")
	out, _ := os.Create(filepath.Join(rdir, "output"))
	runner.Stdout, runner.Stderr = out, out
	if err := runner.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { runner.Process.Kill(); runner.Wait() })
	want := "not taking jobs: only "
	var body string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + name + "/healthz")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		if resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(body, want) {
			break
		}
	}
	for _, w := range []string{want, "below the 1000 TiB this runner keeps free (min-free-space)"} {
		if !strings.Contains(body, w) {
			log, _ := os.ReadFile(out.Name())
			t.Fatalf("/healthz said %q, lacking %q; runner output:\n%s", body, w, log)
		}
	}
	log, _ := os.ReadFile(out.Name())
	if !strings.Contains(string(log), "runner takes no jobs") {
		t.Errorf("the runner's log does not say it takes no jobs:\n%s", log)
	}
}
