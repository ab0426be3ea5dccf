package events_test

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// startRedis runs a private redis-server with appendonly persistence and
// returns its address and a function that restarts it.
func startRedis(t *testing.T) (string, func()) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var cmd *exec.Cmd
	start := func() {
		cmd = exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
			"--dir", dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "")
		cmd.Dir = filepath.Clean(dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for i := 0; ; i++ {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
				return
			}
			if i > 200 {
				t.Fatalf("redis did not start: %v", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	start()
	t.Cleanup(stop)
	return addr, func() { stop(); start() }
}
