package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The variables that turn a missing part into a test failure. CI (and
// scripts/test) sets them all.
const (
	RequireVM       = "BUILDS_REQUIRE_VM"      // qemu, qemu-img, the guest image, dockerd, git
	RequireBrowser  = "BUILDS_REQUIRE_BROWSER" // chromium
	RequireSSHD     = "BUILDS_REQUIRE_SSHD"    // sshd, unshare, sudo, root
	RequireServices = RequireEnv               // postgresql, redis
)

// Required reports whether env is set to 1, or, for env "", whether any
// BUILDS_REQUIRE_* variable is: a basic host tool (bash, git) is required
// whenever the suite runs in its strict mode.
func Required(env string) bool {
	if env != "" {
		return os.Getenv(env) == "1"
	}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "BUILDS_REQUIRE_") && strings.HasSuffix(kv, "=1") {
			return true
		}
	}
	return false
}

// Missing skips tb because something it needs is missing, or fails it when
// Required(env) holds. The message says what is missing and how to get it.
func Missing(tb testing.TB, env string, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	name := env
	if name == "" {
		name = "BUILDS_REQUIRE_*"
	}
	if Required(env) {
		tb.Fatalf("%s (%s=1 makes this a failure instead of a skip)", msg, name)
	}
	tb.Skipf("%s; skipping (set %s=1 to make this a failure)", msg, name)
}

// NeedTool returns the path of a host tool, or calls Missing with a
// message naming the Debian package that provides it.
func NeedTool(tb testing.TB, env, name, pkg string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Missing(tb, env, "%s not found (install the Debian package %s)", name, pkg)
	}
	return path
}
