// Package sshdtest starts a real OpenSSH server that looks like a build
// guest to the code under test: a user "build" (uid 1000) with its home at
// /home/build and passwordless sudo, reachable on a loopback port with a
// key made for the test. The server runs in its own mount namespace so the
// fake user's files never touch the host's /etc, /home or /usr/local/bin
// (Guest.Root holds them: home/build, usr-local-bin). /etc, /opt, /root, /srv
// and /var are overlays whose changes land in Guest.Root too (Guest.Upper).
//
// It needs root, unshare(1), sudo and /usr/sbin/sshd; tests skip when they
// are missing unless BUILDS_REQUIRE_SSHD=1.
package sshdtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// Guest is a running fake guest.
type Guest struct {
	Addr   string     // 127.0.0.1:port
	User   string     // always "build"
	Signer ssh.Signer // the key the server accepts
	Home   string     // host path of the guest's /home/build
	Root   string     // host scratch directory of this server
}

// Upper returns the host path where a file that the guest wrote at the
// absolute path p lands, for p under one of the overlaid directories
// (/etc, /opt, /root, /srv, /var).
func (g *Guest) Upper(p string) string {
	return filepath.Join(g.Root, "upper", p)
}

const (
	sshd     = "/usr/sbin/sshd"
	buildUID = 1000
)

// Start starts a fake guest that is stopped when the test ends.
func Start(t testing.TB) *Guest {
	t.Helper()
	requireTools(t)
	g := &Guest{User: "build", Root: t.TempDir()}
	g.Home = filepath.Join(g.Root, "home", "build")
	must(t, os.MkdirAll(g.Home, 0o755))
	must(t, os.Chown(g.Home, buildUID, buildUID))
	g.Signer = writeKeys(t, g.Root)
	writeAccounts(t, g.Root)
	port := freePort(t)
	g.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	writeConfig(t, g.Root, port)
	start(t, g.Root)
	return g
}

func requireTools(t testing.TB) {
	t.Helper()
	var missing []string
	for _, p := range []string{sshd, "/usr/bin/unshare", "/usr/bin/sudo"} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	if len(missing) == 0 {
		return
	}
	msg := "fake guest needs " + strings.Join(missing, ", ") + " (apt-get install openssh-server sudo)"
	if os.Getenv("BUILDS_REQUIRE_SSHD") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeKeys(t testing.TB, dir string) ssh.Signer {
	t.Helper()
	_, hostKey, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	block, err := ssh.MarshalPrivateKey(hostKey, "")
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "host_key"), pem.EncodeToMemory(block), 0o600))
	_, userKey, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	signer, err := ssh.NewSignerFromKey(userKey)
	must(t, err)
	// Like a real guest, the key sits in the user's own authorized_keys,
	// which sshd reads with the user's privileges.
	sshDir := filepath.Join(dir, "home", "build", ".ssh")
	must(t, os.MkdirAll(sshDir, 0o700))
	auth := filepath.Join(sshDir, "authorized_keys")
	must(t, os.WriteFile(auth, ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o600))
	for _, p := range []string{sshDir, auth} {
		must(t, os.Chown(p, buildUID, buildUID))
	}
	return signer
}

// writeAccounts writes the passwd, group, shadow and sudoers files that the
// namespace mounts over the host's, with uid 1000 renamed to build.
func writeAccounts(t testing.TB, dir string) {
	t.Helper()
	files := map[string]string{
		"passwd": "build:x:1000:1000:build:/home/build:/bin/bash\n",
		"group":  "build:x:1000:\n",
		"shadow": "build:*:19000:0:99999:7:::\n",
	}
	for name, extra := range files {
		host, err := os.ReadFile("/etc/" + name)
		must(t, err)
		var kept []string
		for _, line := range strings.Split(strings.TrimRight(string(host), "\n"), "\n") {
			f := strings.Split(line, ":")
			if f[0] == "build" || (name != "shadow" && len(f) > 2 && f[2] == "1000") {
				continue
			}
			kept = append(kept, line)
		}
		body := strings.Join(kept, "\n") + "\n" + extra
		must(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	sudoers := "Defaults !requiretty\nroot ALL=(ALL:ALL) ALL\nbuild ALL=(ALL:ALL) NOPASSWD: ALL\n"
	must(t, os.WriteFile(filepath.Join(dir, "sudoers"), []byte(sudoers), 0o440))
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeConfig(t testing.TB, dir string, port int) {
	t.Helper()
	cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %[2]s/host_key
PidFile none
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers build
PrintMotd no
AcceptEnv LANG
MaxSessions 100
MaxStartups 100
LogLevel ERROR
`, port, dir)
	must(t, os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(cfg), 0o644))
}

// overlaid are the host directories that the guest sees through an overlay
// whose upper layer lies in the test's directory: what a build writes there
// (with sudo) lands in Guest.Upper, never on the host.
var overlaid = []string{"etc", "opt", "root", "srv", "var"}

// start runs sshd in a private mount namespace where the account files and
// /home come from dir, and the directories in overlaid are overlays.
func start(t testing.TB, dir string) {
	t.Helper()
	must(t, os.MkdirAll("/run/sshd", 0o755))
	must(t, os.MkdirAll(filepath.Join(dir, "usr-local-bin"), 0o755))
	for _, d := range overlaid {
		must(t, os.MkdirAll(filepath.Join(dir, "upper", d), 0o755))
		must(t, os.MkdirAll(filepath.Join(dir, "work", d), 0o755))
	}
	script := `set -e
for d in ` + strings.Join(overlaid, " ") + `; do
	mount -t overlay overlay -o "lowerdir=/$d,upperdir=$1/upper/$d,workdir=$1/work/$d" "/$d"
done
for f in passwd group shadow sudoers; do mount --bind "$1/$f" "/etc/$f"; done
mount --bind "$1/home" /home
mount --bind "$1/usr-local-bin" /usr/local/bin
exec ` + sshd + ` -D -e -f "$1/sshd_config"`
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", dir)
	logf, err := os.Create(filepath.Join(dir, "sshd.log"))
	must(t, err)
	cmd.Stdout, cmd.Stderr = logf, logf
	must(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logf.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logf.Name()); err == nil && len(b) > 0 {
				t.Logf("sshd log:\n%s", b)
			}
		}
	})
}
