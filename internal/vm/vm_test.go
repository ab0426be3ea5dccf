package vm_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"builds/internal/vm"
)

func TestBootQemu(t *testing.T) {
	images := requireVM(t)
	c := newControl(t, images, vm.MeansQemu)
	v := bootReady(t, c)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute)
	defer cancel()

	out, err := guest(ctx, c, v, "id -un; id -u; sudo -n id -u; hostname; cat /etc/timezone")
	if err != nil {
		t.Fatalf("ssh: %v: %s", err, out)
	}
	if want := "build\n1000\n0\nbuild\nEtc/UTC"; out != want {
		t.Errorf("guest identity = %q, want %q", out, want)
	}
	// A repository added before the install is used by it.
	mirror, err := guest(ctx, c, v, "awk '/^deb /{print $2; exit}' /etc/apt/sources.list")
	if err != nil || mirror == "" {
		t.Fatalf("find the guest's mirror: %q, %v", mirror, err)
	}
	if out, err := v.AddRepo(ctx, "backports", mirror+" bookworm-backports main"); err != nil {
		t.Fatalf("add-repo: %v\n%s", err, out)
	}
	if out, err := v.Install(ctx, "hello"); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	if out, err := guest(ctx, c, v, "hello"); err != nil || out != "Hello, world!" {
		t.Errorf("hello after install = %q, %v", out, err)
	}
	if out, _ := guest(ctx, c, v, "apt-cache policy"); !strings.Contains(out, "bookworm-backports") {
		t.Errorf("apt does not use the added repository:\n%s", out)
	}
	if err := v.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	assertGone(t, c, v.Port)
}

func TestBootDocker(t *testing.T) {
	images := requireVM(t)
	requireDocker(t)
	c := newControl(t, images, vm.MeansDocker)
	v := bootReady(t, c)
	out, err := guest(t.Context(), c, v, "id -un; sudo -n true && echo sudo")
	if err != nil || out != "build\nsudo" {
		t.Fatalf("ssh: %q, %v", out, err)
	}
	if err := v.Cleanup(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertGone(t, c, v.Port)
}

// Only the runner's key opens the guest.
func TestOtherKeyRefused(t *testing.T) {
	images := requireVM(t)
	c := newControl(t, images, vm.MeansQemu)
	v := bootReady(t, c)
	other, err := vm.KeyPair(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The guest answers its own key, so a refusal below is about the key,
	// not about a guest that is down or a port that is wrong.
	if out, err := guest(t.Context(), c, v, "echo in"); err != nil || out != "in" {
		t.Fatalf("the runner's own key: %v: %s", err, out)
	}
	c2 := *c
	c2.SSHKey = other
	out, err := guest(t.Context(), &c2, v, "echo in")
	if err == nil {
		t.Fatalf("a foreign key logged in: %s", out)
	}
	if !strings.Contains(out, "Permission denied (publickey") {
		t.Fatalf("a foreign key failed, but not because sshd refused it: %v: %s", err, out)
	}
}

// Cancelling Boot leaves nothing behind, and Cleanup may run twice.
func TestBootCancelled(t *testing.T) {
	images := requireVM(t)
	c := newControl(t, images, vm.MeansQemu)
	port := freePort(t)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	v, err := c.Boot(ctx, testImage, "amd64", port)
	if err == nil {
		// qemu was quicker than the timeout: cleaning up must still work.
		if err := v.Cleanup(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := v.Cleanup(t.Context()); err != nil {
			t.Fatalf("second cleanup: %v", err)
		}
	}
	assertGone(t, c, port)
}

func TestKeyPair(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	priv, err := vm.KeyPair(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(priv)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key %s: %v, mode %v", priv, err, fi.Mode())
	}
	pub, err := os.ReadFile(priv + ".pub")
	if err != nil || !strings.HasPrefix(string(pub), "ssh-ed25519 ") {
		t.Fatalf("public key: %q, %v", pub, err)
	}
	again, err := vm.KeyPair(dir)
	if err != nil || again != priv {
		t.Fatalf("second KeyPair = %q, %v", again, err)
	}
	if pub2, _ := os.ReadFile(priv + ".pub"); string(pub2) != string(pub) {
		t.Error("KeyPair replaced an existing key")
	}
}

// WaitSSH gives up as soon as qemu is gone instead of waiting out its
// context.
func TestWaitSSHNoticesDeadVM(t *testing.T) {
	images := requireVM(t)
	c := newControl(t, images, vm.MeansQemu)
	v, err := c.Boot(t.Context(), testImage, "amd64", freePort(t))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Cleanup(context.Background())
	pid, err := os.ReadFile(filepath.Join(v.StateDir(), "qemu.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("kill", "-9", strings.TrimSpace(string(pid))).CombinedOutput(); err != nil {
		t.Fatalf("kill qemu: %v: %s", err, out)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	start := time.Now()
	err = v.WaitSSH(ctx)
	if err == nil || !strings.Contains(err.Error(), "not running") {
		t.Fatalf("WaitSSH = %v, want a 'not running' error", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("WaitSSH took %v to notice", d)
	}
	if err := v.Cleanup(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertGone(t, c, v.Port)
}

// Booting on a port a VM already uses fails and leaves that VM running.
func TestBootPortOfRunningVM(t *testing.T) {
	images := requireVM(t)
	c := newControl(t, images, vm.MeansQemu)
	first, err := c.Boot(t.Context(), testImage, "amd64", freePort(t))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Cleanup(context.Background())
	_, err = c.Boot(t.Context(), testImage, "amd64", first.Port)
	if !errors.Is(err, vm.ErrPortBusy) {
		t.Fatalf("second Boot on port %d = %v, want ErrPortBusy", first.Port, err)
	}
	if err := first.Running(t.Context()); err != nil {
		t.Fatalf("first VM after the failed boot: %v", err)
	}
	if err := first.Cleanup(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertGone(t, c, first.Port)
}
