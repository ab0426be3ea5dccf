package vm

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// InstallImage puts the image files of directory from (a genimg result:
// root.img.qcow2, vmlinuz, initrd.img, key) into directory to, replacing an
// older image there as a whole: the new files are linked (or copied, across
// filesystems) into a temporary directory beside to, which is then renamed
// into place. VMs still running from the old files keep them open. It
// reports false when to already holds the image with the same key.
func InstallImage(from, to string) (bool, error) {
	newKey, err := os.ReadFile(filepath.Join(from, "key"))
	if err != nil {
		return false, fmt.Errorf("install image: %w", err)
	}
	if oldKey, err := os.ReadFile(filepath.Join(to, "key")); err == nil && bytes.Equal(oldKey, newKey) {
		if _, err := os.Stat(filepath.Join(to, ImageFile)); err == nil {
			return false, nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return false, fmt.Errorf("install image: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(to), "."+filepath.Base(to)+".new-")
	if err != nil {
		return false, fmt.Errorf("install image: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := linkOrCopyDir(from, tmp); err != nil {
		return false, fmt.Errorf("install image: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return false, fmt.Errorf("install image: %w", err)
	}
	if err := replaceDir(tmp, to); err != nil {
		return false, fmt.Errorf("install image: %w", err)
	}
	return true, nil
}

// replaceDir renames dir src to dst, moving an existing dst out of the way
// first and removing it afterwards.
func replaceDir(src, dst string) error {
	old := src + ".old"
	if err := os.Rename(dst, old); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		_ = os.Rename(old, dst)
		return err
	}
	return os.RemoveAll(old)
}

func linkOrCopyDir(from, to string) error {
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		src, dst := filepath.Join(from, e.Name()), filepath.Join(to, e.Name())
		if err := os.Link(src, dst); err == nil {
			continue
		}
		if err := copyFile(src, dst); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
