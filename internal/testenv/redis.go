package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RedisOptions configures StartRedis.
type RedisOptions struct {
	// AppendOnly turns on the append-only file with an fsync per write, so
	// that a restart (even after Kill) loses nothing.
	AppendOnly bool
}

// RedisServer is a redis-server owned by one test.
type RedisServer struct {
	// Addr is host:port, stable across restarts.
	Addr string
	opts RedisOptions
	path string
	dir  string
	port int
	p    *proc
}

// Redis starts a fresh Redis server without persistence for tb and returns
// its address. It is stopped when tb ends.
func Redis(tb testing.TB) string {
	tb.Helper()
	return StartRedis(tb, RedisOptions{}).Addr
}

// StartRedis starts a Redis server for tb, stopped when tb ends.
func StartRedis(tb testing.TB, opts RedisOptions) *RedisServer {
	tb.Helper()
	r := &RedisServer{opts: opts, path: need(tb, "redis-server", "redis-server"), dir: tb.TempDir()}
	var err error
	for range 3 { // another process may take the free port first
		if r.port, err = freePort(); err != nil {
			tb.Fatal(err)
		}
		r.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port))
		if err = r.start(); err == nil {
			break
		}
	}
	if err != nil {
		tb.Fatalf("start redis: %v", err)
	}
	tb.Cleanup(func() { r.p.stop(syscall.SIGKILL, 5*time.Second) })
	return r
}

func (r *RedisServer) start() error {
	args := []string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--save", "", "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning"}
	if r.opts.AppendOnly {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	p, err := startProc(exec.Command(r.path, args...), nil)
	if err != nil {
		return err
	}
	if err := p.waitReady(10*time.Second, r.ping); err != nil {
		p.stop(syscall.SIGKILL, time.Second)
		return err
	}
	r.p = p
	return nil
}

// ping succeeds once the server answers PING (not while it loads data).
func (r *RedisServer) ping() error {
	c, err := net.DialTimeout("tcp", r.Addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("%w: PING answered %q", errNotReady, strings.TrimSpace(line))
	}
	return nil
}

// Stop shuts the server down cleanly (SIGTERM: the append-only file is
// flushed).
func (r *RedisServer) Stop(tb testing.TB) {
	tb.Helper()
	r.p.stop(syscall.SIGTERM, 10*time.Second)
}

// Kill ends the server abruptly, like a crash.
func (r *RedisServer) Kill(tb testing.TB) {
	tb.Helper()
	r.p.stop(syscall.SIGKILL, 0)
}

// Start starts a stopped server again on the same address and data
// directory, and waits until it answers.
func (r *RedisServer) Start(tb testing.TB) {
	tb.Helper()
	if !r.p.exited() {
		tb.Fatal("redis: Start while the server runs")
	}
	if err := r.start(); err != nil {
		tb.Fatalf("restart redis: %v", err)
	}
}

// Restart is Stop then Start.
func (r *RedisServer) Restart(tb testing.TB) {
	tb.Helper()
	r.Stop(tb)
	r.Start(tb)
}
