package runner_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"builds/internal/runner"
	"builds/internal/vm"
)

// testImage is the image the VM tests boot.
const testImage = "debian/bookworm"

// requireImages returns the checkout's images directory with the test
// image installed. Without it the test skips, or, with BUILDS_REQUIRE_VM=1,
// builds the image (through the image cache) or fails.
func requireImages(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("../../images")
	if err != nil {
		t.Fatal(err)
	}
	required := os.Getenv("BUILDS_REQUIRE_VM") == "1"
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		if required {
			t.Fatal("qemu-system-x86_64 is not installed")
		}
		t.Skip("qemu-system-x86_64 is not installed; set BUILDS_REQUIRE_VM=1 to make this a failure")
	}
	if _, err := os.Stat(filepath.Join(dir, testImage, "amd64", vm.ImageFile)); err == nil {
		return dir
	}
	if !required {
		t.Skipf("image %s is not installed in %s (builds image build %s); set BUILDS_REQUIRE_VM=1 to build it", testImage, dir, testImage)
	}
	installTestImage(t, dir)
	return dir
}

var imageOnce sync.Mutex

func installTestImage(t testing.TB, dir string) {
	imageOnce.Lock()
	defer imageOnce.Unlock()
	if _, err := os.Stat(filepath.Join(dir, testImage, "amd64", vm.ImageFile)); err == nil {
		return
	}
	genimg := filepath.Join(dir, "debian", "genimg")
	if out, err := exec.Command(genimg, "bookworm").CombinedOutput(); err != nil {
		t.Fatalf("genimg bookworm: %v\n%s", err, out)
	}
	out, err := exec.Command(genimg, "-k", "bookworm").Output()
	if err != nil {
		t.Fatalf("genimg -k: %v", err)
	}
	fields := strings.Fields(string(out))
	if _, err := vm.InstallImage(fields[1], filepath.Join(dir, testImage, "amd64")); err != nil {
		t.Fatal(err)
	}
}

// vmSlots bounds how many VMs the tests of this package run at once: more
// emulated VMs than that on two cores only make each boot slower.
var vmSlots = make(chan struct{}, 3)

// vmBooter boots real VMs and remembers them, to check they are gone.
type vmBooter struct {
	b        runner.ControlBooter
	mu       sync.Mutex
	starting int // boots begun (a slot was free)
	addrs    []string
	cleaned  int
}

func (vb *vmBooter) Boot(ctx context.Context, image, arch string) (runner.VM, error) {
	select {
	case vmSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	vb.mu.Lock()
	vb.starting++
	vb.mu.Unlock()
	v, err := vb.b.Boot(ctx, image, arch)
	if err != nil {
		<-vmSlots
		return nil, err
	}
	vb.mu.Lock()
	defer vb.mu.Unlock()
	vb.addrs = append(vb.addrs, v.Addr())
	return &countedVM{VM: v, vb: vb}, nil
}

func (vb *vmBooter) started() int {
	vb.mu.Lock()
	defer vb.mu.Unlock()
	return vb.starting
}

func (vb *vmBooter) counts() (int, int) {
	vb.mu.Lock()
	defer vb.mu.Unlock()
	return len(vb.addrs), vb.cleaned
}

// countedVM counts cleanups, gives its slot back and passes package
// management through.
type countedVM struct {
	runner.VM
	vb   *vmBooter
	once sync.Once
}

func (v *countedVM) Cleanup(ctx context.Context) error {
	err := v.VM.Cleanup(ctx)
	v.once.Do(func() {
		<-vmSlots
		v.vb.mu.Lock()
		v.vb.cleaned++
		v.vb.mu.Unlock()
	})
	return err
}

func (v *countedVM) AddRepo(ctx context.Context, name, source string) (string, error) {
	return v.VM.(runner.PackageManager).AddRepo(ctx, name, source)
}

func (v *countedVM) Install(ctx context.Context, pkgs ...string) (string, error) {
	return v.VM.(runner.PackageManager).Install(ctx, pkgs...)
}

// newVMEnv is an env whose runner boots real VMs of 1 GiB each.
func newVMEnv(t testing.TB) (*env, *vmBooter, *vm.Control) {
	t.Helper()
	images := requireImages(t)
	key, err := vm.KeyPair(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// qemu runs as an unprivileged user, which must reach the state dir.
	state := t.TempDir()
	for _, d := range []string{filepath.Dir(state), state} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c := &vm.Control{
		Cmd: filepath.Join(images, "control"), ImagesDir: images, Means: vm.MeansQemu,
		SSHKey: key, StateDir: state, CPUs: 2, MemoryMiB: 1024,
	}
	signer, err := runner.LoadSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	e := newBareEnv(t)
	vb := &vmBooter{b: runner.ControlBooter{Control: c}}
	e.r.VM, e.r.Signer, e.vmCounts = vb, signer, vb.counts
	e.r.SetupTimeout = 8 * time.Minute // a busy two-core host under emulation
	return e, vb, c
}

// checkVMsGone checks that no VM of the booter is left: no qemu process,
// no listener on its port, no state files.
// qemuCount counts the qemu processes of c's VMs.
func qemuCount(c *vm.Control) int {
	n := 0
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), "qemu-system") && strings.Contains(string(b), c.StateDir) {
			n++
		}
	}
	return n
}

func checkVMsGone(t testing.TB, vb *vmBooter, c *vm.Control) {
	t.Helper()
	vb.mu.Lock()
	addrs := append([]string(nil), vb.addrs...)
	vb.mu.Unlock()
	for _, a := range addrs {
		if conn, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections", a)
		}
	}
	if n := qemuCount(c); n > 0 {
		t.Errorf("%d qemu processes still running for %s", n, c.StateDir)
	}
	if entries, _ := os.ReadDir(c.StateDir); len(entries) > 0 {
		t.Errorf("state dir %s not empty: %v", c.StateDir, entries)
	}
}
