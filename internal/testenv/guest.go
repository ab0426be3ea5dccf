package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
)

// GuestServiceEnv names the environment variable that says where tests
// serve what a VM guest must reach (git repositories): "LISTEN,GUEST", the
// IP address to listen on and the host name the guest reaches it by.
const GuestServiceEnv = "BUILDS_TEST_GUEST_SERVICE"

var guestIfaces atomic.Int32

// GuestService returns the address a test listens on for a service that a
// guest must reach (a git daemon, the master's API), the host the guest
// uses for it, and the guest-allow entry that lets a contained guest reach
// it. Guests reach no address of the host unless guest-allow names it, so
// by default each call gives the host a fresh address of its own on a
// veth interface (the kernel may lack the dummy type) that lives as long as the test (root only); every test
// that serves guests takes its address from here.
func GuestService(t testing.TB) (listen, guestHost, allow string) {
	t.Helper()
	if v := os.Getenv(GuestServiceEnv); v != "" {
		if l, g, ok := strings.Cut(v, ","); ok && l != "" && g != "" {
			return l, g, g
		}
	}
	if os.Geteuid() != 0 {
		Missing(t, RequireVM, "root, to give the host an address that guests may reach (or set "+GuestServiceEnv+")")
	}
	n := guestIfaces.Add(1)
	dev := fmt.Sprintf("bt%d-%d", os.Getpid()%100000, n)
	ip := fmt.Sprintf("10.214.%d.%d", os.Getpid()%251+1, n%250+1)
	for _, args := range [][]string{
		{"link", "add", dev, "type", "veth", "peer", "name", dev + "p"},
		{"addr", "add", ip + "/32", "dev", dev},
		{"link", "set", dev, "up"},
		{"link", "set", dev + "p", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", dev).Run() })
	return ip, ip, ip
}
