package guest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"builds/internal/guest"
	"builds/internal/guest/sshdtest"
)

func dial(t *testing.T, g *sshdtest.Guest) *guest.Conn {
	t.Helper()
	c, err := guest.Dial(t.Context(), g.Addr, g.User, g.Signer, guest.DialOptions{Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRunPassesHostileArgumentsIntact(t *testing.T) {
	t.Parallel()
	c := dial(t, sshdtest.Start(t))
	var out bytes.Buffer
	argv := append([]string{"printf", `%s\0`}, hostile...)
	if err := c.Run(t.Context(), argv, &out, nil); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(out.String(), "\x00"), "\x00")
	if strings.Join(got, "|") != strings.Join(hostile, "|") || len(got) != len(hostile) {
		t.Fatalf("arguments changed on the way:\n got %q\nwant %q", got, hostile)
	}
	if _, err := os.Stat("/tmp/pwned"); err == nil {
		t.Fatal("an argument ran code")
	}
}

func TestRunExitStatusAndStderr(t *testing.T) {
	t.Parallel()
	c := dial(t, sshdtest.Start(t))
	var out, errOut bytes.Buffer
	err := c.Run(t.Context(), []string{"sh", "-c", "echo out; echo err >&2; exit 7"}, &out, &guest.RunOptions{Stderr: &errOut})
	var ee *guest.ExitError
	if !errors.As(err, &ee) || ee.Code != 7 {
		t.Fatalf("got %v, want exit status 7", err)
	}
	if out.String() != "out\n" || errOut.String() != "err\n" {
		t.Errorf("stdout %q stderr %q", out.String(), errOut.String())
	}
	if err := c.Run(t.Context(), []string{"true"}, nil, nil); err != nil {
		t.Errorf("true: %v", err)
	}
}

func TestRunSudoAndStdin(t *testing.T) {
	t.Parallel()
	c := dial(t, sshdtest.Start(t))
	var out bytes.Buffer
	if err := c.Run(t.Context(), []string{"id", "-u"}, &out, &guest.RunOptions{Sudo: true}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "0\n" {
		t.Errorf("sudo id -u = %q", out.String())
	}
	out.Reset()
	in := strings.NewReader("from stdin")
	if err := c.Run(t.Context(), []string{"cat"}, &out, &guest.RunOptions{Stdin: in}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "from stdin" {
		t.Errorf("cat = %q", out.String())
	}
}

func TestRunPTYIsATerminal(t *testing.T) {
	t.Parallel()
	c := dial(t, sshdtest.Start(t))
	var out bytes.Buffer
	script := `test -t 1 && echo tty; echo "$TERM"; stty size; printf '\033[31mred\033[0m\n'; exit 3`
	err := c.RunPTY(t.Context(), []string{"bash", "-c", script}, &out, nil)
	var ee *guest.ExitError
	if !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("got %v, want exit status 3", err)
	}
	want := "tty\r\nxterm-256color\r\n40 132\r\n\x1b[31mred\x1b[0m\r\n"
	if out.String() != want {
		t.Errorf("pty output %q, want %q", out.String(), want)
	}
}

func TestCancelKillsCommand(t *testing.T) {
	t.Parallel()
	g := sshdtest.Start(t)
	c := dial(t, g)
	for _, pty := range []bool{false, true} {
		ctx, cancel := context.WithCancelCause(t.Context())
		cause := errors.New("job cancelled")
		time.AfterFunc(300*time.Millisecond, func() { cancel(cause) })
		start := time.Now()
		run := c.Run
		if pty {
			run = c.RunPTY
		}
		err := run(ctx, []string{"sleep", "60"}, nil, nil)
		if !errors.Is(err, cause) {
			t.Errorf("pty=%v: got %v, want the cancel cause", pty, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("pty=%v: cancel took %v", pty, d)
		}
	}
	// The connection stays usable after a cancelled command.
	if err := c.Run(t.Context(), []string{"true"}, nil, nil); err != nil {
		t.Fatalf("after cancel: %v", err)
	}
}

func TestWriteFileModesAndOwners(t *testing.T) {
	t.Parallel()
	g := sshdtest.Start(t)
	c := dial(t, g)
	ctx := t.Context()
	data := []byte("secret\x00binary\nand 'quotes' $(x)")
	if err := c.WriteFile(ctx, "sub dir/it's a file", 0o640, data); err != nil {
		t.Fatal(err)
	}
	checkFile(t, filepath.Join(g.Home, "sub dir", "it's a file"), data, 0o640, 1000)
	if err := c.WriteFileSudo(ctx, "/home/build/rootfile", 0o600, []byte("x")); err != nil {
		t.Fatal(err)
	}
	checkFile(t, filepath.Join(g.Home, "rootfile"), []byte("x"), 0o600, 0)
	err := c.WriteFile(ctx, "/proc/nope/file", 0o600, data)
	if err == nil || !strings.Contains(err.Error(), "/proc/nope/file") {
		t.Errorf("writing to an impossible path: %v", err)
	}
}

func TestUploadAndReadFile(t *testing.T) {
	t.Parallel()
	g := sshdtest.Start(t)
	c := dial(t, g)
	ctx := t.Context()
	dirs := []guest.Dir{{Path: "/home/build/.ssh", Mode: 0o700, UID: 1000, GID: 1000}}
	files := []guest.File{
		{Path: "/home/build/.ssh/id_rsa", Mode: 0o600, Data: []byte("key"), UID: 1000, GID: 1000},
		{Path: "/home/build/.buildenv", Mode: 0o644, Data: []byte("A=1\n"), UID: 1000, GID: 1000},
		{Path: "/home/build/owned-by-root", Mode: 0o400, Data: []byte("r"), UID: 0, GID: 0},
	}
	if err := c.Upload(ctx, dirs, files); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(g.Home, ".ssh"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf(".ssh: %v %v", fi, err)
	}
	checkFile(t, filepath.Join(g.Home, ".ssh", "id_rsa"), []byte("key"), 0o600, 1000)
	checkFile(t, filepath.Join(g.Home, ".buildenv"), []byte("A=1\n"), 0o644, 1000)
	checkFile(t, filepath.Join(g.Home, "owned-by-root"), []byte("r"), 0o400, 0)
	var buf bytes.Buffer
	n, err := c.ReadFile(ctx, ".buildenv", &buf)
	if err != nil || n != 4 || buf.String() != "A=1\n" {
		t.Errorf("ReadFile = %d %q %v", n, buf.String(), err)
	}
	if _, err := c.ReadFile(ctx, "missing", io.Discard); err == nil {
		t.Error("reading a missing file succeeded")
	}
	if err := c.Upload(ctx, nil, []guest.File{{Path: "relative"}}); err == nil {
		t.Error("relative upload path accepted")
	}
}

func checkFile(t *testing.T, path string, data []byte, mode os.FileMode, uid int) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("%s holds %q, want %q", path, got, data)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != mode {
		t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), mode)
	}
	if st := fileUID(fi); st != uid {
		t.Errorf("%s owned by %d, want %d", path, st, uid)
	}
}

func TestDialWaitsForServer(t *testing.T) {
	t.Parallel()
	g := sshdtest.Start(t)
	// A listener that accepts and immediately hangs up stands in for qemu's
	// port forward before the guest's sshd is up; after a while it starts
	// forwarding to the real server.
	p := newProxy(t, g.Addr)
	p.setMode(modeHangUp)
	time.AfterFunc(700*time.Millisecond, func() { p.setMode(modeForward) })
	start := time.Now()
	c, err := guest.Dial(t.Context(), p.addr(), g.User, g.Signer, guest.DialOptions{Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if d := time.Since(start); d < 700*time.Millisecond || d > 3*time.Second {
		t.Errorf("dial took %v, want just over 700ms", d)
	}
}

func TestDialGivesUp(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: connection refused
	start := time.Now()
	_, err = guest.Dial(t.Context(), addr, "build", signer(t), guest.DialOptions{Timeout: 500 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("got %v, want a timeout naming the refused connection", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gave up after %v", d)
	}
}

func TestKeepAliveDetectsDeadGuest(t *testing.T) {
	t.Parallel()
	g := sshdtest.Start(t)
	p := newProxy(t, g.Addr)
	c, err := guest.Dial(t.Context(), p.addr(), g.User, g.Signer, guest.DialOptions{KeepAlive: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() { done <- c.Run(t.Context(), []string{"sleep", "60"}, nil, nil) }()
	time.Sleep(200 * time.Millisecond)
	p.setMode(modeFreeze)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "keepalive") {
			t.Errorf("got %v, want a keepalive error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a frozen guest was not noticed")
	}
	<-c.Done()
}
