package guest

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// writeScript writes its standard input to "$1" with mode "$2", creating
// the parent directory first. The file is created under umask 077 so its
// contents are never readable by others before the final chmod.
const writeScript = `mkdir -p -- "$(dirname -- "$1")" && (umask 077 && cat > "$1") && chmod -- "$2" "$1"`

// WriteFile writes data to path in the guest as the login user, with the
// given permission bits, creating the parent directory if needed. A relative
// path is relative to the user's home directory.
func (c *Conn) WriteFile(ctx context.Context, path string, mode os.FileMode, data []byte) error {
	return c.writeFile(ctx, path, mode, data, false)
}

// WriteFileSudo is WriteFile as root, for paths the login user cannot write.
// The file ends up owned by root.
func (c *Conn) WriteFileSudo(ctx context.Context, path string, mode os.FileMode, data []byte) error {
	return c.writeFile(ctx, path, mode, data, true)
}

func (c *Conn) writeFile(ctx context.Context, p string, mode os.FileMode, data []byte, sudo bool) error {
	argv := []string{"sh", "-c", writeScript, "sh", p, fmt.Sprintf("%04o", mode.Perm())}
	var stderr bytes.Buffer
	opts := &RunOptions{Stdin: bytes.NewReader(data), Stderr: &stderr, Sudo: sudo}
	if err := c.Run(ctx, argv, io.Discard, opts); err != nil {
		return fmt.Errorf("write %s: %w: %s", p, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// ReadFile copies the file at path in the guest to w and returns how many
// bytes it copied. A relative path is relative to the login user's home.
func (c *Conn) ReadFile(ctx context.Context, path string, w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	var stderr bytes.Buffer
	err := c.Run(ctx, []string{"cat", "--", path}, cw, &RunOptions{Stderr: &stderr})
	if err != nil {
		return cw.n, fmt.Errorf("read %s: %w: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// File is one file for Upload.
type File struct {
	Path string      // absolute path in the guest
	Mode os.FileMode // permission bits
	Data []byte
	UID  int // owner
	GID  int
}

// Dir is a directory Upload creates (or leaves as it is, if it exists)
// before writing files into it.
type Dir struct {
	Path string
	Mode os.FileMode
	UID  int
	GID  int
}

// Upload writes many files in one round trip: it streams a tar archive to
// tar running as root in the guest, which keeps each entry's owner and
// mode. Directories in dirs are created first when missing; existing
// directories keep their owner and mode. Missing parents not listed in
// dirs are created owned by root, so list every directory that matters.
func (c *Conn) Upload(ctx context.Context, dirs []Dir, files []File) error {
	archive, err := Archive(dirs, files)
	if err != nil {
		return err
	}
	argv := []string{"tar", "-x", "-p", "--same-owner", "--no-overwrite-dir", "-C", "/", "-f", "-"}
	var stderr bytes.Buffer
	opts := &RunOptions{Stdin: bytes.NewReader(archive), Stderr: &stderr, Sudo: true}
	if err := c.Run(ctx, argv, io.Discard, opts); err != nil {
		return fmt.Errorf("upload files: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// Archive returns the tar archive Upload sends: dirs (parents first), then
// files, each entry named by its absolute path without the leading slash,
// so that "tar -x -C /" puts it in place. For callers that extract it with
// their own command.
func Archive(dirs []Dir, files []File) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	sorted := append([]Dir(nil), dirs...)
	// Parents sort before their children, so tar creates them first.
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	for _, d := range sorted {
		name, err := entryName(d.Path)
		if err != nil {
			return nil, err
		}
		h := &tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: int64(d.Mode.Perm()), Uid: d.UID, Gid: d.GID, ModTime: now}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("archive %s: %w", d.Path, err)
		}
	}
	for _, f := range files {
		name, err := entryName(f.Path)
		if err != nil {
			return nil, err
		}
		h := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(f.Mode.Perm()), Uid: f.UID, Gid: f.GID, Size: int64(len(f.Data)), ModTime: now}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("archive %s: %w", f.Path, err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, fmt.Errorf("archive %s: %w", f.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	return buf.Bytes(), nil
}

// entryName turns an absolute guest path into a tar entry name relative to
// /, refusing relative paths and any ".." that would climb out.
func entryName(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("upload: path %q is not absolute", p)
	}
	clean := path.Clean(p)
	if clean == "/" {
		return "", fmt.Errorf("upload: path %q names the root directory", p)
	}
	return strings.TrimPrefix(clean, "/"), nil
}
