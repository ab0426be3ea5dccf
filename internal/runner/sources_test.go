package runner_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"builds/internal/build"
	"builds/internal/testenv"
)

// gitServer serves the repository "repo.git" with git daemon on a loopback
// port. The repository's main branch says "main version"; the branch
// "feature" says "feature version" and has a submodule "sub".
type gitServer struct {
	Port int
}

func startGitServer(t testing.TB, listen string) *gitServer {
	t.Helper()
	testenv.NeedTool(t, testenv.RequireVM, "git", "git")
	base := t.TempDir()
	makeRepo(t, filepath.Join(base, "sub.git"), "sub", nil)
	makeRepo(t, filepath.Join(base, "repo.git"), "main", func(work string) {
		gitIn(t, work, "checkout", "-q", "-b", "feature")
		writeFile(t, filepath.Join(work, "version"), "feature version\n")
		gitIn(t, work, "-c", "protocol.file.allow=always", "submodule", "add", "-q", "../sub.git", "sub")
		gitIn(t, work, "commit", "-qam", "feature")
		gitIn(t, work, "push", "-q", "origin", "feature")
	})
	port := freePort(t)
	cmd := exec.Command("git", "daemon", "--export-all", "--reuseaddr", "--base-path="+base,
		"--listen="+listen, fmt.Sprintf("--port=%d", port), base)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitListening(t, fmt.Sprintf("%s:%d", listen, port))
	return &gitServer{Port: port}
}

// makeRepo creates a bare repository at bare with one commit holding the
// file "version", then lets more change it through a work tree.
func makeRepo(t testing.TB, bare, version string, more func(work string)) string {
	t.Helper()
	gitIn(t, "", "init", "-q", "--bare", "-b", "main", bare)
	work := t.TempDir()
	gitIn(t, "", "clone", "-q", bare, work)
	writeFile(t, filepath.Join(work, "version"), version+" version\n")
	gitIn(t, work, "add", "version")
	gitIn(t, work, "commit", "-qm", "first")
	gitIn(t, work, "push", "-q", "origin", "HEAD:main")
	if more != nil {
		more(work)
	}
	return bare
}

func gitIn(t testing.TB, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func writeFile(t testing.TB, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitListening(t testing.TB, addr string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("nothing listens on %s", addr)
}

func TestSourcesCloned(t *testing.T) {
	t.Parallel()
	gs := startGitServer(t, "127.0.0.1")
	e := newEnv(t)
	e.start()
	url := fmt.Sprintf("git://127.0.0.1:%d/repo.git", gs.Port)
	e.submit(20, fmt.Sprintf(`image: debian/bookworm
sources:
  - %[1]s
  - other::%[1]s#feature
tasks:
  - check: |
      cat repo/version other/version other/sub/version
`, url))
	if s := e.wait(20, 30*time.Second); s != build.JobSuccess {
		t.Fatalf("job ended %s; log:\n%s", s, e.log(20, ""))
	}
	e.checkLog(20, "check", "main version", "feature version", "sub version")
	e.checkLog(20, "", "Cloning "+url+" into ~/repo", "Cloning "+url+" (feature) into ~/other", "Cloned")
	e.checkClean()
}

func TestSourceCloneFailureFailsJob(t *testing.T) {
	t.Parallel()
	gs := startGitServer(t, "127.0.0.1")
	e := newEnv(t)
	e.start()
	e.submit(21, fmt.Sprintf("image: debian/bookworm\nsources:\n  - git://127.0.0.1:%d/repo.git#no-such-ref\ntasks:\n  - a: echo never\n", gs.Port))
	if s := e.wait(21, 30*time.Second); s != build.JobFailed {
		t.Fatalf("job ended %s", s)
	}
	e.checkLog(21, "", "cloning", "failed")
	e.checkTasks(21, map[string]build.TaskStatus{"a": build.TaskPending})
	e.checkClean()
}
