package vm_test

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"builds/internal/testenv"
	"builds/internal/vm"
)

// testImage is the image the VM tests boot.
const testImage = "debian/bookworm"

// repoImages is the checkout's images directory.
func repoImages(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("../../images")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// requireVM skips (or, with BUILDS_REQUIRE_VM=1, fails) when qemu or the
// test image is missing. With BUILDS_REQUIRE_VM=1 it builds a missing image.
func requireVM(t testing.TB) string {
	t.Helper()
	dir := repoImages(t)
	required := os.Getenv("BUILDS_REQUIRE_VM") == "1"
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		if required {
			t.Fatal("qemu-system-x86_64 is not installed")
		}
		t.Skip("qemu-system-x86_64 is not installed; set BUILDS_REQUIRE_VM=1 to make this a failure")
	}
	disk := filepath.Join(dir, testImage, "amd64", vm.ImageFile)
	if _, err := os.Stat(disk); err == nil {
		return dir
	}
	if !required {
		t.Skipf("%s is not built (builds image build %s); set BUILDS_REQUIRE_VM=1 to build it", disk, testImage)
	}
	buildTestImage(t, dir)
	return dir
}

func buildTestImage(t testing.TB, dir string) {
	t.Helper()
	genimg := filepath.Join(dir, "debian", "genimg")
	cmd := exec.Command(genimg, "bookworm")
	if out, err := cmd.CombinedOutput(); err != nil {
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

// newControl returns a Control with its own key and state directory. The
// VMs are small: the test machine has little CPU to spare.
func newControl(t testing.TB, images, means string) *vm.Control {
	t.Helper()
	key, err := vm.KeyPair(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The qemu user must reach the state dir: open up the test's own
	// temporary directories.
	state := t.TempDir()
	for _, d := range []string{filepath.Dir(state), state} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &vm.Control{
		Cmd:       filepath.Join(repoImages(t), "control"),
		ImagesDir: images,
		Means:     means,
		SSHKey:    key,
		StateDir:  state,
		CPUs:      2,
		MemoryMiB: 1024,
	}
}

// freePort picks a port or fails the test.
func freePort(t testing.TB) int {
	t.Helper()
	p, err := vm.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// guest runs a shell command in the VM as build through the control
// script's ssh command.
func guest(ctx context.Context, c *vm.Control, v *vm.VM, command string) (string, error) {
	cmd := exec.CommandContext(ctx, c.Cmd, v.Image, "ssh", strconv.Itoa(v.Port), command)
	cmd.Env = append(os.Environ(), "BUILDS_SSH_KEY="+c.SSHKey, "BUILDS_VM_STATE="+c.StateDir)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// assertGone checks that nothing of the VM on port is left: no qemu
// process, no container, no listener, no state files.
func assertGone(t testing.TB, c *vm.Control, port int) {
	t.Helper()
	if pids := qemuPids(c.StateDir); len(pids) > 0 {
		t.Errorf("qemu still running for %s: pids %v", c.StateDir, pids)
	}
	if conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
		conn.Close()
		t.Errorf("port %d still accepts connections", port)
	}
	if entries, _ := os.ReadDir(c.StateDir); len(entries) > 0 {
		t.Errorf("state dir %s not empty: %v", c.StateDir, entries)
	}
	if netnsExists(port) {
		t.Errorf("network namespace builds-vm-%d still exists", port)
	}
	if c.Means == vm.MeansDocker {
		name := "builds-vm-" + strconv.Itoa(port)
		if err := exec.Command("docker", "inspect", name).Run(); err == nil {
			t.Errorf("container %s still exists", name)
		}
	}
}

// qemuPids lists qemu processes whose command line mentions dir.
func qemuPids(dir string) []int {
	var pids []int
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), "qemu-system") || !strings.Contains(string(b), dir) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		pids = append(pids, pid)
	}
	return pids
}

// requireDocker makes sure a Docker engine runs (starting dockerd for the
// test when none does) and that the qemu image exists, or skips.
func requireDocker(t testing.TB) {
	t.Helper()
	testenv.NeedTool(t, testenv.RequireVM, "dockerd", "docker.io")
	testenv.NeedTool(t, testenv.RequireVM, "docker", "docker.io")
	if exec.Command("docker", "info").Run() != nil {
		startDockerd(t)
	}
	if exec.Command("docker", "image", "inspect", "qemu").Run() != nil {
		out, err := exec.Command(filepath.Join(repoImages(t), "qemu", "build")).CombinedOutput()
		if err != nil {
			t.Fatalf("build the qemu docker image: %v\n%s", err, out)
		}
	}
}

func startDockerd(t testing.TB) {
	t.Helper()
	logf, err := os.CreateTemp("", "dockerd-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dockerd")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		testenv.Missing(t, testenv.RequireVM, "start dockerd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		logf.Close()
		os.Remove(logf.Name())
	})
	for range 100 {
		if exec.Command("docker", "info").Run() == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	testenv.Missing(t, testenv.RequireVM, "dockerd did not come up; see %s", tail(logf.Name()))
}

func tail(name string) string {
	f, err := os.Open(name)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		lines = append(lines, s.Text())
		if len(lines) > 10 {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// bootReady boots the test image and waits for SSH; the VM is cleaned up
// when the test ends.
func bootReady(t testing.TB, c *vm.Control) *vm.VM {
	t.Helper()
	// Generous: under emulation on a loaded 2-core host a boot can take
	// minutes instead of the usual 15 s.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	port := freePort(t)
	v, err := c.Boot(ctx, testImage, "amd64", port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := v.Cleanup(context.Background()); err != nil {
			t.Error(err)
		}
	})
	if err := v.WaitSSH(ctx); err != nil {
		t.Fatalf("%v\nconsole:\n%s", err, tail(filepath.Join(v.StateDir(), "console.log")))
	}
	return v
}
