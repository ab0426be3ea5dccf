package testenv

import (
	"os"
	"strings"
)

// GuestServiceEnv names the environment variable that says where tests
// serve what a VM guest must reach (git repositories): "LISTEN,GUEST", the
// IP address to listen on and the host name the guest reaches it by.
const GuestServiceEnv = "BUILDS_TEST_GUEST_SERVICE"

// GuestService returns the address a test listens on for a service that a
// guest must reach, and the host name the guest uses for it. The default,
// 127.0.0.1 seen by the guest as 10.0.2.2, is qemu's user network mapping
// of the host's loopback; where guests are kept off the host's loopback,
// set BUILDS_TEST_GUEST_SERVICE to an address that the containment allows
// (every test that serves guests takes it from here).
func GuestService() (listen, guestHost string) {
	if v := os.Getenv(GuestServiceEnv); v != "" {
		if l, g, ok := strings.Cut(v, ","); ok && l != "" && g != "" {
			return l, g
		}
	}
	return "127.0.0.1", "10.0.2.2"
}
