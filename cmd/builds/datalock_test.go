package main

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A second `builds serve` on a data directory in use refuses to start and
// names the first; once the first is killed (-9), the directory is free.
func TestServeDataDirLocked(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, data)

	second := exec.Command(binPath, "serve", "--data", data, "--listen", freeAddr(t))
	second.Env = s.env
	var out bytes.Buffer
	second.Stdout, second.Stderr = &out, &out
	done := make(chan error, 1)
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- second.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("second serve on the same data directory exited 0:\n%s", out.String())
		}
	case <-time.After(30 * time.Second):
		second.Process.Kill()
		t.Fatalf("second serve on the same data directory kept running:\n%s", out.String())
	}
	want := "is in use by builds serve (pid " + strconv.Itoa(s.cmd.Process.Pid) + ")"
	if !strings.Contains(out.String(), want) {
		t.Errorf("second serve's message lacks %q:\n%s", want, out.String())
	}

	s.stop(syscall.SIGKILL)
	third := startServe(t, data)
	third.stop(syscall.SIGTERM)
	if _, err := os.Stat(data + "/lock"); err != nil {
		t.Errorf("lock file: %v", err)
	}
}
