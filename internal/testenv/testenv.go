// Package testenv starts real services for tests: throwaway PostgreSQL and
// Redis servers on 127.0.0.1, stopped when the test (or, for the shared
// PostgreSQL server, the test binary) ends.
//
// A missing server binary skips the test with a message saying what to
// install, unless BUILDS_REQUIRE_SERVICES=1, in which case it fails: CI sets
// it so that a broken install cannot pass as a skipped test.
//
// Servers run with durability switched off (fsync off, no snapshots) unless
// a test asks otherwise: they hold nothing worth keeping.
package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireEnv is the environment variable that turns a missing service into
// a test failure.
const RequireEnv = "BUILDS_REQUIRE_SERVICES"

// need skips or fails tb when the binary at path (or in PATH) is missing,
// and returns its full path.
func need(tb testing.TB, name, pkg string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("%s not found (install the Debian package %s): %v", name, pkg, err)
	if os.Getenv(RequireEnv) == "1" {
		tb.Fatalf("%s; %s=1 requires it", msg, RequireEnv)
	}
	tb.Skipf("%s; skipping (set %s=1 to make this a failure)", msg, RequireEnv)
	return ""
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// proc is a running server process.
type proc struct {
	cmd  *exec.Cmd
	out  *syncBuffer   // what it printed, for error messages
	done chan struct{} // closed when it has exited
}

// syncBuffer is a bytes.Buffer that the process writes while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startProc starts cmd in its own process group. Pdeathsig kills it if the
// test binary dies without cleaning up, so no server outlives its test.
func startProc(cmd *exec.Cmd, cred *syscall.Credential) (*proc, error) {
	p := &proc{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig and waits for the process to exit, killing it after a
// grace period.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) {
	if p.exited() {
		return
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(grace):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// waitReady calls ready until it succeeds, the process exits, or timeout
// passes.
func (p *proc) waitReady(timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("server exited: %s", tail(p.out.String()))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server not ready after %v: %w; output: %s", timeout, err, tail(p.out.String()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tail returns the end of a server's output.
func tail(s string) string {
	const n = 2000
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	if s == "" {
		return "(no output)"
	}
	return s
}

var errNotReady = errors.New("not ready")
