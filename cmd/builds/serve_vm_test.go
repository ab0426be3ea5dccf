package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"builds/internal/config"
)

// requireImage returns the images directory of this checkout, skipping
// (or failing, with BUILDS_REQUIRE_VM=1) when qemu or the Debian image is
// missing. scripts/test builds the image before running the tests.
func requireImage(t *testing.T) string {
	t.Helper()
	dir := config.DefaultImagesDir()
	_, qerr := exec.LookPath("qemu-system-x86_64")
	_, ierr := os.Stat(filepath.Join(dir, "debian/bookworm/amd64/root.img.qcow2"))
	if qerr == nil && ierr == nil {
		// qemu runs as an unprivileged user, which must reach the VM state
		// under the data directories this test makes in its temp root.
		if err := os.Chmod(filepath.Dir(t.TempDir()), 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	if os.Getenv("BUILDS_REQUIRE_VM") == "1" {
		t.Fatalf("qemu or the debian/bookworm image is missing (%v, %v); run 'builds image build debian/bookworm'", qerr, ierr)
	}
	t.Skip("qemu or the debian/bookworm image is missing; set BUILDS_REQUIRE_VM=1 to make this a failure")
	return ""
}

// vmConfig writes a configuration for VM tests: small guests, and room for
// slow boots on a busy machine.
func vmConfig(t *testing.T, images string) string {
	p := filepath.Join(t.TempDir(), "builds.ini")
	body := "[builds.sr.ht::worker]\nimages = " + images + "\nsetup-timeout = 10m\nmemory = 1024\n"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestServeRunsRealBuilds is the main job end to end: serve on its
// embedded defaults, a user and token made with the CLI, builds submitted
// and followed with `builds submit --follow`, each run in a real VM.
func TestServeRunsRealBuilds(t *testing.T) {
	images := requireImage(t)
	s := startServe(t, t.TempDir(), "BUILDS_CONFIG="+vmConfig(t, images))
	token := s.userToken("alice")

	code, out := s.cli("submit", "--token", token, "--follow", "../../examples/hello.yml")
	if code != 0 {
		t.Fatalf("hello build: exit %d\n%s\n%s", code, out, s.log)
	}
	for _, want := range []string{"/~alice/job/1", "Booting debian/bookworm", "==> task hello", "Hello from build, job 1", "job #1: success"} {
		if !strings.Contains(out, want) {
			t.Errorf("hello output lacks %q:\n%s", want, out)
		}
	}
	v := s.job(token, 1)
	if v.Job.Status != "SUCCESS" || v.Job.Runner != "local" || len(v.Job.Tasks) != 1 || v.Job.Tasks[0].Status != "SUCCESS" {
		t.Errorf("job 1: %+v", v.Job)
	}
	if code, body := s.get(token, v.Job.Log.FullURL); code != 200 || !strings.Contains(body, "Job #1") {
		t.Errorf("setup log %s: %d %q", v.Job.Log.FullURL, code, body)
	}

	code, out = s.cli("submit", "--token", token, "--follow", "../../examples/failing.yml")
	if code != 1 || !strings.Contains(out, "job #2: failed") {
		t.Fatalf("failing build: exit %d\n%s", code, out)
	}
	v = s.job(token, 2)
	statuses := []string{}
	for _, task := range v.Job.Tasks {
		statuses = append(statuses, task.Name+"="+task.Status)
	}
	if v.Job.Status != "FAILED" || !strings.Contains(strings.Join(statuses, " "), "=FAILED") || !strings.HasSuffix(strings.Join(statuses, " "), "=PENDING") {
		t.Errorf("job 2: %s %v", v.Job.Status, statuses)
	}

	_, metrics := s.get("", s.url+"/metrics")
	for _, want := range []string{`builds_jobs_finished_total{status="success"} 1`, `builds_jobs_finished_total{status="failed"} 1`, "builds_vm_boot_seconds_count 2"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	_ = time.Second
}
