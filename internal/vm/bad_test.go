package vm_test

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"builds/internal/build"
	"builds/internal/testenv"
	"builds/internal/vm"
)

// fakeImages makes an images directory whose debian/bookworm/amd64 holds
// what setup puts there, with the real functions file.
func fakeImages(t *testing.T, setup func(archDir string)) string {
	t.Helper()
	dir := t.TempDir()
	fn, err := os.ReadFile(filepath.Join(repoImages(t), "debian", "functions"))
	if err != nil {
		t.Fatal(err)
	}
	arch := filepath.Join(dir, "debian", "bookworm", "amd64")
	if err := os.MkdirAll(arch, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "debian", "functions"), fn, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../functions", filepath.Join(dir, "debian", "bookworm", "functions")); err != nil {
		t.Fatal(err)
	}
	setup(arch)
	return dir
}

// emptyQcow2 makes a valid but empty disk: qemu starts, the kernel is missing.
func emptyQcow2(t *testing.T) func(string) {
	return func(arch string) {
		out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", filepath.Join(arch, vm.ImageFile), "64M").CombinedOutput()
		if err != nil {
			t.Fatalf("qemu-img create: %v: %s", err, out)
		}
	}
}

func TestBootBadInput(t *testing.T) {
	testenv.NeedTool(t, testenv.RequireVM, "qemu-img", "qemu-utils")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	tests := []struct {
		name, image, arch string
		port              int // 0: a free one
		setup             func(string)
		invalid           bool   // EINVALID: the caller's mistake
		want              string // in the error message
	}{
		{"unknown image", "debian/hamm", "amd64", 0, emptyQcow2(t), true, "unknown image 'debian/hamm'"},
		{"bad image name", "../etc", "amd64", 0, emptyQcow2(t), true, "bad image name"},
		{"unknown arch", "debian/bookworm", "sparc", 0, emptyQcow2(t), true, "unknown arch 'sparc'"},
		{"port in use", "debian/bookworm", "amd64", busyPort, emptyQcow2(t), false, "in use"},
		{"missing image file", "debian/bookworm", "amd64", 0, func(string) {}, false, "is not built"},
		{"arch not built", "debian/bookworm", "amd64", 0, func(arch string) { os.RemoveAll(arch) }, false, "is not built"},
		{"corrupt qcow2", "debian/bookworm", "amd64", 0, func(arch string) {
			os.WriteFile(filepath.Join(arch, vm.ImageFile), []byte(strings.Repeat("garbage", 1000)), 0o644)
		}, false, "unusable"},
		{"qemu fails (no kernel)", "debian/bookworm", "amd64", 0, emptyQcow2(t), false, "qemu failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newControl(t, fakeImages(t, tt.setup), vm.MeansQemu)
			c.Env = []string{"BUILDS_KVM=no"}
			port := tt.port
			if port == 0 {
				port = freePort(t)
			}
			v, err := c.Boot(t.Context(), tt.image, tt.arch, port)
			if err == nil {
				v.Cleanup(t.Context())
				t.Fatal("Boot succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if busy := errors.Is(err, vm.ErrPortBusy); busy != (port == busyPort) {
				t.Errorf("errors.Is(err, ErrPortBusy) = %v for %v", busy, err)
			}
			if got := build.ErrorCode(err) == build.EINVALID; got != tt.invalid {
				t.Errorf("EINVALID = %v, want %v (error %v)", got, tt.invalid, err)
			}
			if port != busyPort {
				assertGone(t, c, port)
			} else if entries, _ := os.ReadDir(c.StateDir); len(entries) > 0 {
				t.Errorf("state left behind: %v", entries)
			}
		})
	}
}

func TestBadPort(t *testing.T) {
	c := newControl(t, repoImages(t), vm.MeansQemu)
	_, err := c.Boot(t.Context(), testImage, "amd64", 80)
	if build.ErrorCode(err) != build.EINVALID {
		t.Fatalf("port 80: %v", err)
	}
}
