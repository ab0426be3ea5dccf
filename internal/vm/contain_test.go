package vm_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"builds/internal/vm"
)

// requireRoot skips (or with BUILDS_REQUIRE_VM=1 fails) unless the test
// runs as root: network namespaces and dropping to the qemu user need it.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("BUILDS_REQUIRE_VM") == "1" {
		t.Fatal("guest containment tests need root (network namespaces)")
	}
	t.Skip("guest containment tests need root (network namespaces); set BUILDS_REQUIRE_VM=1 to make this a failure")
}

// hostMarker serves the marker on every address of the host (loopback
// included) and returns its port.
func hostMarker(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(markerText), markerText)
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// markerNamespace makes a network namespace joined to the host by a veth
// pair with private addresses 10.213.X.1 (host) and 10.213.X.2 (namespace)
// and serves the marker in it on each of ports. It returns 10.213.X.2.
func markerNamespace(t testing.TB, ports ...int) string {
	t.Helper()
	x := rand.IntN(250) + 1
	ns := fmt.Sprintf("btmark%d", x)
	hv, nv := fmt.Sprintf("btm%dh", x), fmt.Sprintf("btm%dn", x)
	hostIP, nsIP := fmt.Sprintf("10.213.%d.1", x), fmt.Sprintf("10.213.%d.2", x)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("ip", "netns", "add", ns)
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", hv).Run()
		exec.Command("ip", "netns", "del", ns).Run()
	})
	run("ip", "link", "add", hv, "type", "veth", "peer", "name", nv, "netns", ns)
	run("ip", "addr", "add", hostIP+"/30", "dev", hv)
	run("ip", "link", "set", hv, "up")
	run("ip", "-n", ns, "addr", "add", nsIP+"/30", "dev", nv)
	run("ip", "-n", ns, "link", "set", nv, "up")
	run("ip", "-n", ns, "link", "set", "lo", "up")
	run("ip", "-n", ns, "route", "add", "default", "via", hostIP)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ports {
		addr := net.JoinHostPort(nsIP, strconv.Itoa(p))
		cmd := exec.Command("ip", "netns", "exec", ns, exe)
		cmd.Env = append(os.Environ(), "BUILDS_VM_TEST_ROLE=marker", "BUILDS_VM_TEST_ADDR="+addr)
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		if line, _ := bufio.NewReader(out).ReadString('\n'); line != "listening\n" {
			t.Fatalf("marker on %s did not start: %q", addr, line)
		}
	}
	return nsIP
}

// fetch reads the marker from addr on the host (proving it is live).
func fetch(t testing.TB, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("marker %s unreachable from the host itself: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c)
	if !strings.Contains(string(b), markerText) {
		t.Fatalf("marker %s answered %q", addr, b)
	}
}

// hostIPv4s lists the host's IPv4 addresses.
func hostIPv4s(t testing.TB) []string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			ips = append(ips, n.IP.String())
		}
	}
	return ips
}

// A guest reaches neither the host (its loopback through 10.0.2.2, nor any
// of its addresses) nor a private address of a namespace on it, unless
// guest-allow names it, while the Debian archive answers; and qemu runs as
// the unprivileged qemu user.
func TestGuestContainedQemu(t *testing.T) { testGuestContained(t, vm.MeansQemu) }

func TestGuestContainedDocker(t *testing.T) { testGuestContained(t, vm.MeansDocker) }

func testGuestContained(t *testing.T, means string) {
	images := requireVM(t)
	requireRoot(t)
	if means == vm.MeansDocker {
		requireDocker(t)
	}
	hostPort := hostMarker(t)
	blockedPort, allowedPort := freePort(t), freePort(t)
	nsIP := markerNamespace(t, blockedPort, allowedPort)
	blocked := []string{net.JoinHostPort("10.0.2.2", strconv.Itoa(hostPort)), net.JoinHostPort(nsIP, strconv.Itoa(blockedPort))}
	for _, ip := range hostIPv4s(t) {
		fetch(t, net.JoinHostPort(ip, strconv.Itoa(hostPort)))
		blocked = append(blocked, net.JoinHostPort(ip, strconv.Itoa(hostPort)))
	}
	allowed := net.JoinHostPort(nsIP, strconv.Itoa(allowedPort))
	fetch(t, net.JoinHostPort(nsIP, strconv.Itoa(blockedPort)))
	fetch(t, allowed)

	c := newControl(t, images, means)
	c.GuestAllow = []string{allowed}
	v := bootReady(t, c)
	if strings.HasPrefix(v.Addr(), "127.") {
		t.Errorf("guest SSH forwarded from the host's loopback (%s), not its namespace", v.Addr())
	}
	checkQemuUser(t, c)

	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	for _, addr := range blocked {
		out, err := guest(ctx, c, v, "curl -sS -m 10 http://"+addr+"/")
		if err == nil || strings.Contains(out, markerText) {
			t.Errorf("guest reached %s: %q", addr, out)
		}
	}
	if out, err := guest(ctx, c, v, "curl -sS -m 10 http://"+allowed+"/"); err != nil || out != markerText {
		t.Errorf("guest did not reach %s named by guest-allow: %q, %v", allowed, out, err)
	}
	if out, err := guest(ctx, c, v, "sudo apt-get -q update"); err != nil {
		t.Errorf("apt-get update in the guest: %v\n%s", err, out)
	}
}

// checkQemuUser checks that every qemu process of c runs as the qemu user.
func checkQemuUser(t *testing.T, c *vm.Control) {
	t.Helper()
	u, err := user.Lookup("builds-qemu")
	if err != nil {
		t.Fatalf("user builds-qemu: %v (scripts/deps.sh creates it)", err)
	}
	pids := qemuPids(c.StateDir)
	if len(pids) == 0 {
		t.Fatal("no qemu process found")
	}
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) == 5 && (f[0] == "Uid:" || f[0] == "Gid:") {
				want := u.Uid
				if f[0] == "Gid:" {
					want = u.Gid
				}
				for _, id := range f[1:] {
					if id != want {
						t.Errorf("qemu pid %d: %s %v, want all %s", pid, f[0], f[1:], want)
						break
					}
				}
			}
			if strings.HasPrefix(l, "CapEff:") && strings.TrimSpace(strings.TrimPrefix(l, "CapEff:")) != "0000000000000000" {
				t.Errorf("qemu pid %d has capabilities: %s", pid, l)
			}
		}
	}
}

// ownerBoot starts a helper process that boots a VM on c as a runner
// would, and returns it once the VM runs.
func ownerBoot(t *testing.T, c *vm.Control, images string) (*exec.Cmd, int) {
	t.Helper()
	port := freePort(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "BUILDS_VM_TEST_ROLE=owner", "BUILDS_VM_TEST_PORT="+strconv.Itoa(port),
		"BUILDS_VM_TEST_CMD="+c.Cmd, "BUILDS_VM_TEST_IMAGES="+images, "BUILDS_VM_TEST_MEANS="+c.Means,
		"BUILDS_VM_TEST_STATE="+c.StateDir, "BUILDS_VM_TEST_KEY="+c.SSHKey)
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		cl := exec.Command(c.Cmd, "-", "cleanup", strconv.Itoa(port))
		cl.Env = append(os.Environ(), "BUILDS_VM_STATE="+c.StateDir)
		cl.Run()
	})
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != fmt.Sprintf("booted %d\n", port) {
		t.Fatalf("owner process did not boot: %q", line)
	}
	if len(qemuPids(c.StateDir)) == 0 {
		t.Fatal("no qemu process after boot")
	}
	return cmd, port
}

// After a kill -9 of the process that booted it, a VM is gone within a
// minute: no qemu, no container, no namespace, no state.
func TestOwnerKilledQemu(t *testing.T) { testOwnerKilled(t, vm.MeansQemu) }

func TestOwnerKilledDocker(t *testing.T) { testOwnerKilled(t, vm.MeansDocker) }

func testOwnerKilled(t *testing.T, means string) {
	images := requireVM(t)
	requireRoot(t)
	if means == vm.MeansDocker {
		requireDocker(t)
	}
	c := newControl(t, images, means)
	owner, port := ownerBoot(t, c, images)
	if err := owner.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	owner.Wait()
	start := time.Now()
	for time.Since(start) < time.Minute && !vmGone(c, port) {
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("VM gone %.1f s after its owner was killed", time.Since(start).Seconds())
	assertGone(t, c, port)
}

// Recover removes what a dead owner left when its watcher could not (here:
// the watcher was killed too).
func TestRecover(t *testing.T) {
	images := requireVM(t)
	requireRoot(t)
	c := newControl(t, images, vm.MeansQemu)
	owner, port := ownerBoot(t, c, images)
	state := filepath.Join(c.StateDir, fmt.Sprintf("vm-%d", port))
	w, err := os.ReadFile(filepath.Join(state, "watchdog.pid"))
	if err != nil {
		t.Fatal(err)
	}
	wpid, _ := strconv.Atoi(strings.TrimSpace(string(w)))
	if p, err := os.FindProcess(wpid); err == nil {
		p.Kill()
	}
	owner.Process.Kill()
	owner.Wait()
	time.Sleep(2 * time.Second)
	if vmGone(c, port) {
		t.Fatal("the VM went away by itself; nothing left for Recover")
	}
	c2 := *c
	if err := c2.Recover(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertGone(t, c, port)
}

// A second process cannot take over a state directory whose owner lives.
func TestRecoverRefusesLiveOwner(t *testing.T) {
	images := requireVM(t)
	requireRoot(t)
	c := newControl(t, images, vm.MeansQemu)
	ownerBoot(t, c, images)
	err := c.Recover(t.Context())
	if err == nil || !strings.Contains(err.Error(), "belongs to another running process") {
		t.Fatalf("Recover on a live owner's state dir = %v", err)
	}
}

// vmGone reports whether nothing of the VM on port is left.
func vmGone(c *vm.Control, port int) bool {
	if len(qemuPids(c.StateDir)) > 0 {
		return false
	}
	if _, err := os.Stat(filepath.Join(c.StateDir, fmt.Sprintf("vm-%d", port))); err == nil {
		return false
	}
	if c.Means == vm.MeansDocker && exec.Command("docker", "inspect", fmt.Sprintf("builds-vm-%d", port)).Run() == nil {
		return false
	}
	return !netnsExists(port)
}

func netnsExists(port int) bool {
	_, err := os.Stat(fmt.Sprintf("/run/netns/builds-vm-%d", port))
	return err == nil
}
