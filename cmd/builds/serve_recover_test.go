package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeImages makes an images directory whose control script stands in for
// qemu: boot blocks while the file "hang" exists and fails otherwise. It
// tests what the master does around the VM, not the VM.
func fakeImages(t testing.TB) string {
	dir := t.TempDir()
	arch := filepath.Join(dir, "debian", "bookworm", "amd64")
	if err := os.MkdirAll(arch, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(arch, "root.img.qcow2"), []byte("not a disk"), 0o644)
	script := `#!/bin/sh
dir=$(dirname "$0")
case "$2" in
boot | restore)
	while [ -f "$dir/hang" ]; do sleep 0.2; done
	echo "control: no VM here: this images directory is a test stand-in" >&2
	exit 1 ;;
esac
exit 0
`
	if err := os.WriteFile(filepath.Join(dir, "control"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command("pkill", "-f", dir).Run() })
	return dir
}

// TestServeRecoversJobsAfterCrash kills serve while one job runs and one
// waits: after a restart the first is failed with a reason in its log and
// the second runs.
func TestServeRecoversJobsAfterCrash(t *testing.T) {
	images := fakeImages(t)
	os.WriteFile(filepath.Join(images, "hang"), nil, 0o644)
	conf := filepath.Join(t.TempDir(), "builds.ini")
	os.WriteFile(conf, []byte("[builds.sr.ht::worker]\nimages = "+images+"\nconcurrency = 1\n"), 0o644)
	data := t.TempDir()
	s := startServe(t, data, "BUILDS_CONFIG="+conf)
	token := s.userToken("alice")
	for range 2 {
		if code, out := s.cli("submit", "--token", token, "../../examples/hello.yml"); code != 0 {
			t.Fatalf("submit: %s", out)
		}
	}
	s.waitStatus(token, 1, 30*time.Second, "RUNNING")
	s.waitStatus(token, 2, time.Second, "QUEUED")

	s.stop(syscall.SIGKILL)
	exec.Command("pkill", "-f", images).Run()
	os.Remove(filepath.Join(images, "hang"))
	s = startServe(t, data, "BUILDS_CONFIG="+conf)

	v := s.waitStatus(token, 1, 10*time.Second, "FAILED")
	if want := s.url + "/query/log/1/log"; v.Job.Log.FullURL != want {
		t.Errorf("Log.fullURL = %q, want %q as on builds.sr.ht", v.Job.Log.FullURL, want)
	}
	if _, log := s.get(token, v.Job.Log.FullURL); !strings.Contains(log, "service stopped while this job ran") {
		t.Errorf("job 1 log does not say why it failed:\n%s", log)
	}
	for _, task := range v.Job.Tasks {
		if task.Status != "SKIPPED" && task.Status != "FAILED" {
			t.Errorf("job 1 failed at recovery but its task %s is %s", task.Name, task.Status)
		}
	}
	v = s.waitStatus(token, 2, 30*time.Second, "FAILED")
	if _, log := s.get(token, v.Job.Log.FullURL); !strings.Contains(log, "test stand-in") {
		t.Errorf("job 2 did not run after the restart; its log:\n%s", log)
	}
}

// TestServeRefusesBadFlags checks that serve explains what is wrong.
func TestServeRefusesBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--listen", "8080"}, "expected HOST:PORT"},
		{[]string{"serve", "extra"}, "takes no arguments"},
		{[]string{"serve", "--bogus"}, "flag provided but not defined"},
	} {
		out, err := exec.Command(binPath, tc.args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: err %v, output %q lacks %q", tc.args, err, out, tc.want)
		}
	}
}
