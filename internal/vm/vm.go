// Package vm boots and tears down build VMs through the images' control
// script (images/control), and lists the installed images.
//
// A VM is reached over SSH on VM.Addr() as user User with the runner's
// private key (Control.SSHKey); the guest accepts no other key. This package
// starts and stops VMs only: the guest session belongs to the runner.
//
// Lifecycle: Boot starts qemu and returns once it runs (not once the guest
// answers); WaitSSH waits for the guest's SSH server; Cleanup stops the VM and
// removes its files. A Control is safe for concurrent use; each VM must use
// its own port.
//
// Containment: by default each guest's network runs in a network namespace
// of its own that reaches the outside but no address of the host, no
// private, loopback, link-local or shared range and no other VM (GuestAllow
// names exceptions); qemu runs as an unprivileged user (QemuUser) when the
// runner is root. A VM never outlives the process that booted it: the
// first Boot takes an exclusive lock on StateDir+".lock", and each VM's watcher
// removes it once that lock is free. Recover removes what a crashed
// process left.
package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"builds/internal/build"
)

// User is the guest account that runs builds (uid 1000, passwordless sudo).
const User = "build"

// Boot means: how qemu is started.
const (
	MeansQemu   = "qemu"   // qemu directly on the host
	MeansDocker = "docker" // qemu inside the FROM-scratch docker image "qemu"
)

// Control runs the control script. The zero value of each field except
// ImagesDir picks the default documented on it.
type Control struct {
	// Cmd is the control script; default ImagesDir/control.
	Cmd string
	// ImagesDir holds <distro>/<release>/<arch>/root.img.qcow2 and the
	// functions files.
	ImagesDir string
	// Means is MeansQemu (default) or MeansDocker.
	Means string
	// SSHKey is the runner's private key; SSHKey+".pub" is put in the guest.
	SSHKey string
	// StateDir holds one directory per running VM (pidfile, QMP socket,
	// console log); default /run/builds.
	StateDir string
	// CPUs and MemoryMiB size the VM; defaults 2 and 4096.
	CPUs, MemoryMiB int
	// GuestNet is GuestContained (default) or GuestOpen: whether guests'
	// networks are shut off from the host and private ranges.
	GuestNet string
	// GuestAllow lists destinations guests may reach despite containment:
	// "host:port", "IP" or "CIDR" (IPv4).
	GuestAllow []string
	// QemuUser is the unprivileged user qemu runs as when the runner runs
	// as root; default builds-qemu.
	QemuUser string
	// Env is added to the script's environment, e.g. "BUILDS_KVM=no".
	Env []string
}

// Guest network modes (Control.GuestNet).
const (
	GuestContained = "contained" // own namespace, host and private ranges rejected
	GuestOpen      = "open"      // qemu's plain user network: reaches the host's loopback
)

// VM is a booted guest. Its SSH server listens on Addr(): Port on the
// loopback, or on the address of the VM's network namespace.
type VM struct {
	Image, Arch string
	Port        int
	// Host is the address the guest's SSH is forwarded from.
	Host string
	// SSHKey is the private key the guest accepts for User.
	SSHKey string

	c *Control
}

// Addr is the host address of the guest's SSH server.
func (v *VM) Addr() string {
	host := v.Host
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(v.Port))
}

// StateDir is where the control script keeps this VM's files (console.log,
// qmp.sock, qemu.pid).
func (v *VM) StateDir() string { return filepath.Join(v.c.stateDir(), fmt.Sprintf("vm-%d", v.Port)) }

// Boot starts image (e.g. "debian/bookworm") for arch on port. An empty
// arch means amd64. Unknown images or arches and bad ports are EINVALID
// errors. If Boot fails or ctx ends, nothing of the VM is left running.
func (c *Control) Boot(ctx context.Context, image, arch string, port int) (*VM, error) {
	if arch == "" {
		arch = "amd64"
	}
	v := &VM{Image: image, Arch: arch, Port: port, SSHKey: c.SSHKey, c: c}
	means := c.Means
	if means == "" {
		means = MeansQemu
	}
	lock, err := ownerLock(c.stateDir())
	if err != nil {
		return nil, fmt.Errorf("boot %s/%s: %w", image, arch, err)
	}
	_, err = c.runEnv(ctx, []string{"BUILDS_VM_OWNER_LOCK=" + lock}, image, "boot", arch, strconv.Itoa(port), means)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err == nil {
		if err = v.readAddr(); err == nil {
			return v, nil
		}
		// Booted, but unreachable: remove it.
		if cerr := v.Cleanup(context.WithoutCancel(ctx)); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, fmt.Errorf("boot %s/%s: %w", image, arch, err)
	}
	// The script removes what it started when it fails by itself, and
	// leaves a port that belongs to another VM alone; but when it was
	// killed, what it started is ours to remove.
	if ctx.Err() != nil && !errors.Is(err, ErrPortBusy) {
		if cerr := v.Cleanup(context.WithoutCancel(ctx)); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	return nil, fmt.Errorf("boot %s/%s: %w", image, arch, err)
}

// readAddr learns where the control script forwarded the guest's SSH.
func (v *VM) readAddr() error {
	b, err := os.ReadFile(filepath.Join(v.StateDir(), "ssh-addr"))
	if err != nil {
		return fmt.Errorf("read the guest's ssh address: %w", err)
	}
	host, _, err := net.SplitHostPort(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("read the guest's ssh address: %w", err)
	}
	v.Host = host
	return nil
}

// Cleanup stops the VM and removes its files. It may be called more than
// once and after a failed Boot.
func (v *VM) Cleanup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := v.c.run(ctx, v.Image, "cleanup", strconv.Itoa(v.Port)); err != nil {
		return fmt.Errorf("clean up vm on port %d: %w", v.Port, err)
	}
	return nil
}

// WaitSSH waits until the guest's SSH server sends its banner, which it
// does only once the guest has booted and its key is installed. Connections
// to a booting guest are accepted by qemu and then closed, so the banner is
// what tells them apart.
//
// It fails early when qemu stops (a crash, a guest that powers off, a
// broken qemu installation), with qemu's last words in the error.
func (v *VM) WaitSSH(ctx context.Context) error {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	lastCheck := time.Now()
	for {
		if sshBanner(ctx, v.Addr()) {
			return nil
		}
		if time.Since(lastCheck) > 2*time.Second {
			lastCheck = time.Now()
			if err := v.Running(ctx); err != nil && ctx.Err() == nil {
				return fmt.Errorf("wait for ssh on %s: %w", v.Addr(), err)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for ssh on %s: %w", v.Addr(), ctx.Err())
		case <-t.C:
		}
	}
}

// Running returns nil while the VM's qemu runs, and an error saying why
// it stopped otherwise.
func (v *VM) Running(ctx context.Context) error {
	if _, err := v.c.run(ctx, v.Image, "status", strconv.Itoa(v.Port)); err != nil {
		return err
	}
	return nil
}

func sshBanner(ctx context.Context, addr string) bool {
	d := net.Dialer{Timeout: 2 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 8)
	n, _ := io.ReadFull(conn, buf)
	return n == len(buf) && bytes.HasPrefix(buf, []byte("SSH-"))
}

// Install installs packages in the running guest with the image's package
// manager (control's install command); output goes to the returned string.
func (v *VM) Install(ctx context.Context, pkgs ...string) (string, error) {
	out, err := v.c.run(ctx, append([]string{v.Image, "install", strconv.Itoa(v.Port)}, pkgs...)...)
	if err != nil {
		return out, fmt.Errorf("install %s: %w", strings.Join(pkgs, " "), err)
	}
	return out, nil
}

// AddRepo adds a package repository in the running guest; source is in the
// image's format (Debian: "URL SUITE COMPONENT [KEY]").
func (v *VM) AddRepo(ctx context.Context, name, source string) (string, error) {
	out, err := v.c.run(ctx, v.Image, "add-repo", strconv.Itoa(v.Port), name, source)
	if err != nil {
		return out, fmt.Errorf("add repository %s: %w", name, err)
	}
	return out, nil
}

func (c *Control) stateDir() string {
	if c.StateDir != "" {
		return c.StateDir
	}
	return "/run/builds"
}

func (c *Control) env() []string {
	env := append(os.Environ(), "BUILDS_IMAGES="+c.ImagesDir, "BUILDS_VM_STATE="+c.stateDir())
	if c.SSHKey != "" {
		env = append(env, "BUILDS_SSH_KEY="+c.SSHKey)
	}
	if c.CPUs > 0 {
		env = append(env, "BUILDS_VM_CPUS="+strconv.Itoa(c.CPUs))
	}
	if c.MemoryMiB > 0 {
		env = append(env, "BUILDS_VM_MEMORY="+strconv.Itoa(c.MemoryMiB))
	}
	if c.GuestNet != "" {
		env = append(env, "BUILDS_GUEST_NET="+c.GuestNet)
	}
	if len(c.GuestAllow) > 0 {
		env = append(env, "BUILDS_GUEST_ALLOW="+strings.Join(c.GuestAllow, " "))
	}
	if c.QemuUser != "" {
		env = append(env, "BUILDS_QEMU_USER="+c.QemuUser)
	}
	return append(env, c.Env...)
}

// ErrPortBusy is returned by Boot when the port is taken; pick another
// (FreePort) and try again.
var ErrPortBusy = errors.New("port busy")

// run runs the control script and returns its combined output. Exit status
// 3 (wrong arguments) becomes an EINVALID error carrying the script's
// message, 4 an ErrPortBusy.
func (c *Control) run(ctx context.Context, args ...string) (string, error) {
	return c.runEnv(ctx, nil, args...)
}

// runEnv is run with extra environment variables.
func (c *Control) runEnv(ctx context.Context, extra []string, args ...string) (string, error) {
	script := c.Cmd
	if script == "" {
		script = filepath.Join(c.ImagesDir, "control")
	}
	cmd := exec.CommandContext(ctx, script, args...)
	cmd.Env = append(c.env(), extra...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group, so cancelling also stops what it started
	// (a docker client, a qemu still in the foreground).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	text := strings.TrimSpace(out.String())
	var exit *exec.ExitError
	switch {
	case err == nil:
		return text, nil
	case errors.As(err, &exit) && exit.ExitCode() == 3 && ctx.Err() == nil:
		return text, build.Errorf(build.EINVALID, "%s", strings.TrimPrefix(lastLine(text), "control: "))
	case errors.As(err, &exit) && exit.ExitCode() == 4:
		return text, fmt.Errorf("%w: %s", ErrPortBusy, strings.TrimPrefix(lastLine(text), "control: "))
	case text != "":
		return text, fmt.Errorf("%w: %s", err, text)
	}
	return text, err
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
