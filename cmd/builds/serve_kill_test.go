package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// After a kill -9 of `builds serve` mid-build, never restarted, its VM is
// gone within a minute: no qemu process, no network namespace.
func TestServeKilledLeavesNoVM(t *testing.T) {
	images := requireImage(t)
	if os.Geteuid() != 0 {
		if os.Getenv("BUILDS_REQUIRE_VM") == "1" {
			t.Fatal("VMs need root (guest network containment)")
		}
		t.Skip("VMs need root (guest network containment); set BUILDS_REQUIRE_VM=1 to make this a failure")
	}
	data := t.TempDir()
	s := startServe(t, data, "BUILDS_CONFIG="+vmConfig(t, images))
	token := s.userToken("alice")
	manifest := filepath.Join(t.TempDir(), "sleep.yml")
	if err := os.WriteFile(manifest, []byte("image: debian/bookworm\ntasks:\n  - wait: sleep 3600\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := s.cli("submit", "--token", token, manifest); code != 0 {
		t.Fatalf("submit: exit %d\n%s", code, out)
	}
	vms := filepath.Join(data, "vms")
	deadline := time.Now().Add(5 * time.Minute)
	for len(qemuOf(vms)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no qemu started for the job\n%s", s.log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	namespaces := netnsOf(vms)
	s.stop(syscall.SIGKILL)
	killed := time.Now()
	for len(qemuOf(vms)) > 0 || len(liveNetns(namespaces)) > 0 {
		if time.Since(killed) > time.Minute {
			t.Fatalf("a minute after kill -9 of serve: qemu %v, namespaces %v", qemuOf(vms), liveNetns(namespaces))
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("VM gone %.1f s after kill -9 of serve", time.Since(killed).Seconds())
}

// qemuOf lists the qemu processes whose command line mentions dir.
func qemuOf(dir string) []string {
	var pids []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), "qemu-system") && strings.Contains(string(b), dir+"/") {
			pids = append(pids, filepath.Base(filepath.Dir(p)))
		}
	}
	return pids
}

// netnsOf lists the VM network namespaces recorded in dir.
func netnsOf(dir string) []string {
	var names []string
	files, _ := filepath.Glob(filepath.Join(dir, "vm-*", "netns"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && len(b) > 1 {
			names = append(names, strings.TrimSpace(string(b)))
		}
	}
	return names
}

// liveNetns returns those of names that still exist.
func liveNetns(names []string) []string {
	var live []string
	for _, n := range names {
		if _, err := os.Stat("/run/netns/" + n); err == nil {
			live = append(live, n)
		}
	}
	return live
}
