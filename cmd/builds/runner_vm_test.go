package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"builds/internal/testenv"
)

// TestRunnerRunsRealBuild is the many-host set-up with a real guest:
// `builds serve` on PostgreSQL and Redis, and a `builds runner` process
// that boots a qemu VM. The job clones a repository that the test serves
// with git daemon, reads a file secret and uploads an artifact, which is
// then downloaded as the API says.
func TestRunnerRunsRealBuild(t *testing.T) {
	images := requireImage(t)
	redis := testenv.StartRedis(t, testenv.RedisOptions{AppendOnly: true})
	pg := testenv.StartPostgres(t)
	repo, allow := serveGitRepo(t)
	key := newKeyForTest()
	masterConf := writeConf(t, fmt.Sprintf(`[sr.ht]
network-key = %s
[builds.sr.ht]
redis = redis://%s
connection-string = %s
[builds.sr.ht::worker]
images = %s
`, key, redis.Addr, pg.CreateDB(t), images))
	s := startServe(t, t.TempDir(), "BUILDS_CONFIG="+masterConf)

	rdir := t.TempDir()
	name := freeAddr(t)
	runnerConf := writeConf(t, fmt.Sprintf(`[sr.ht]
network-key = %s
[builds.sr.ht]
redis = redis://%s
data-dir = %s
[builds.sr.ht::worker]
name = %s
bind-address = %s
images = %s
buildlogs = %s
artifacts = %s
setup-timeout = 15m
memory = 1024
guest-allow = %s
`, key, redis.Addr, rdir, name, name, images, filepath.Join(rdir, "logs"), filepath.Join(rdir, "artifacts"), allow))
	out := startRunnerProc(t, runnerConf, rdir)

	token := s.userToken("alice")
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("runner-secret-7q2w"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := s.cli("secret", "add", "--user", "alice", "--kind", "file", "--path", "~/app.conf",
		"--mode", "600", "--name", "app-conf", secretFile); code != 0 {
		t.Fatalf("secret add: %d %s", code, out)
	}
	manifest := filepath.Join(t.TempDir(), "remote.yml")
	if err := os.WriteFile(manifest, []byte(`image: debian/bookworm
sources:
  - `+repo+`
secrets:
  - app-conf
tasks:
  - build: |
      cat repo/version
      sha256sum ~/app.conf | cut -c1-16
      { cat repo/version; echo built-on-runner; } > result.txt
artifacts:
  - result.txt
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, got := s.cli("submit", "--token", token, "--follow", manifest)
	if code != 0 || !strings.Contains(got, "job #1: success") {
		b, _ := os.ReadFile(out)
		t.Fatalf("submit --follow: exit %d\n%s\nmaster:\n%s\nrunner:\n%s", code, got, s.log, b)
	}
	sum := sha256.Sum256([]byte("runner-secret-7q2w"))
	for _, want := range []string{"remote version", hex.EncodeToString(sum[:8])} {
		if !strings.Contains(got, want) {
			t.Errorf("build output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "runner-secret-7q2w") {
		t.Errorf("the secret leaked into the log:\n%s", got)
	}
	v := s.job(token, 1)
	if v.Job.Runner != name || v.Job.Status != "SUCCESS" {
		t.Errorf("job 1: runner %q status %s, want %s SUCCESS", v.Job.Runner, v.Job.Status, name)
	}
	var arts struct {
		Job struct {
			Artifacts []struct {
				Path string
				Size int
				URL  string
			}
		}
	}
	s.query(token, `{ job(id: 1) { artifacts { path size url } } }`, nil, &arts)
	if len(arts.Job.Artifacts) != 1 || arts.Job.Artifacts[0].Path != "result.txt" {
		t.Fatalf("artifacts: %+v", arts.Job.Artifacts)
	}
	a := arts.Job.Artifacts[0]
	want := "remote version\nbuilt-on-runner\n"
	if code, body := s.get(token, a.URL); code != 200 || body != want || a.Size != len(want) {
		t.Errorf("artifact %s (size %d): %d %q, want %q", a.URL, a.Size, code, body, want)
	}
}

// startRunnerProc starts `builds runner` with extra flags and returns the
// file its output goes to. The process is killed when the test ends.
func startRunnerProc(t testing.TB, conf, dir string, flags ...string) string {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"runner", "--config", conf}, flags...)...)
	outPath := filepath.Join(dir, "output")
	out, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// SIGTERM twice: running jobs are cancelled and their VMs removed.
		cmd.Process.Signal(os.Interrupt)
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			cmd.Process.Kill()
			<-done
		}
		out.Close()
		b, _ := os.ReadFile(outPath)
		if r := testenv.RaceReports(string(b)); r != "" {
			t.Errorf("builds runner found a data race:\n%s", r)
		}
		if t.Failed() {
			t.Logf("runner output:\n%s", b)
		}
	})
	return outPath
}

// serveGitRepo makes a repository whose file "version" says "remote
// version" and serves it with git daemon where a guest can reach it (see
// testenv.GuestService). It returns the URL the guest clones and the
// guest-allow entry that lets a contained guest reach it.
func serveGitRepo(t *testing.T) (url, allow string) {
	t.Helper()
	testenv.NeedTool(t, testenv.RequireVM, "git", "git")
	base := t.TempDir()
	work := t.TempDir()
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org", "GIT_CONFIG_NOSYSTEM=1", "HOME="+work)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	git("", "init", "-q", "-b", "main", filepath.Join(work, "src"))
	if err := os.WriteFile(filepath.Join(work, "src", "version"), []byte("remote version\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(filepath.Join(work, "src"), "add", "version")
	git(filepath.Join(work, "src"), "commit", "-qm", "first")
	git("", "clone", "-q", "--bare", filepath.Join(work, "src"), filepath.Join(base, "repo.git"))

	listen, guestHost, allow := testenv.GuestService(t)
	port := freePortOn(t, listen)
	cmd := exec.Command("git", "daemon", "--export-all", "--reuseaddr", "--base-path="+base,
		"--listen="+listen, "--port="+strconv.Itoa(port), base)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := net.JoinHostPort(listen, strconv.Itoa(port))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("git daemon does not listen on %s", addr)
		}
	}
	return fmt.Sprintf("git://%s/repo.git", net.JoinHostPort(guestHost, strconv.Itoa(port))), allow
}

func freePortOn(t *testing.T, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
