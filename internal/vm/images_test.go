package vm_test

import (
	"os"
	"path/filepath"
	"testing"

	"builds/internal/vm"
)

func TestImages(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("debian/functions", 10)
	write("debian/bookworm/amd64/root.img.qcow2", 100)
	write("debian/bookworm/amd64/vmlinuz", 20)
	write("debian/trixie/functions", 1) // not built
	for link, target := range map[string]string{"oldstable": "bookworm", "stable": "trixie"} {
		if err := os.Symlink(target, filepath.Join(dir, "debian", link)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := vm.Images(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("Images = %+v, want bookworm and its alias oldstable", got)
	}
	if got[0].Name != "debian/bookworm" || got[0].Arch != "amd64" || got[0].Size != 120 || got[0].AliasOf != "" {
		t.Errorf("got[0] = %+v", got[0])
	}
	if got[1].Name != "debian/oldstable" || got[1].AliasOf != "debian/bookworm" {
		t.Errorf("got[1] = %+v", got[1])
	}
	if none, err := vm.Images(filepath.Join(dir, "missing")); err != nil || len(none) != 0 {
		t.Errorf("Images(missing) = %v, %v", none, err)
	}
}

func TestInstallImage(t *testing.T) {
	dir := t.TempDir()
	from, to := filepath.Join(dir, "cache"), filepath.Join(dir, "images", "debian", "bookworm", "amd64")
	if err := os.MkdirAll(from, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"key": "k1", vm.ImageFile: "disk", "vmlinuz": "kernel"} {
		if err := os.WriteFile(filepath.Join(from, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if changed, err := vm.InstallImage(from, to); err != nil || !changed {
		t.Fatalf("first install: %v, %v", changed, err)
	}
	if b, _ := os.ReadFile(filepath.Join(to, vm.ImageFile)); string(b) != "disk" {
		t.Errorf("installed disk = %q", b)
	}
	if changed, err := vm.InstallImage(from, to); err != nil || changed {
		t.Fatalf("same key again: %v, %v (want no change)", changed, err)
	}
	// genimg replaces files (the install hard-links them), never rewrites them.
	os.Remove(filepath.Join(from, "key"))
	os.WriteFile(filepath.Join(from, "key"), []byte("k2"), 0o644)
	if changed, err := vm.InstallImage(from, to); err != nil || !changed {
		t.Fatalf("new key: %v, %v", changed, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(to))
	if len(entries) != 1 {
		t.Errorf("leftovers beside the image: %v", entries)
	}
}
