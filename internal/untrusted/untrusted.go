// Package untrusted serves bytes a build controls (artifacts, raw logs) so
// that a browser never runs them as part of the site: whatever a build
// writes, it must not be able to script the web UI's origin, where a
// signed-in user's session lives.
//
// Every response gets X-Content-Type-Options: nosniff (no guessing HTML out
// of text) and Content-Security-Policy: sandbox (a document that is
// rendered anyway gets an opaque origin: no scripts, no cookies, no
// same-origin requests). Artifacts are also sent as attachments of type
// application/octet-stream, so browsers download them instead of
// displaying them.
package untrusted

import (
	"errors"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// CSP is the Content-Security-Policy of every untrusted response: a
// sandbox with nothing allowed, and no sub-resources of any kind.
const CSP = "sandbox; default-src 'none'; form-action 'none'; frame-ancestors 'none'"

// Headers sets the headers that keep a response of untrusted bytes from
// running on the site's origin. Call it before writing the header.
func Headers(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", CSP)
	h.Set("Cross-Origin-Resource-Policy", "same-site")
	h.Set("Referrer-Policy", "no-referrer")
}

// ValidName reports whether name can be an artifact's file name: one
// path element (not "." or ".."), no NUL, at most 255 bytes. Names that
// start with a dot (".env") are fine: manifests may upload them.
func ValidName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\\\x00") && len(name) <= 255
}

// ServeArtifact serves the file name in dir as an attachment, with Range
// support. The caller has checked access. A name that is not ValidName, a
// file that does not exist or is not a regular file (a symbolic link, a
// device, a directory) gets 404: nothing outside dir is ever served.
func ServeArtifact(w http.ResponseWriter, r *http.Request, dir, name string) {
	if !ValidName(name) {
		http.NotFound(w, r)
		return
	}
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ELOOP) {
			slog.Error("serve artifact", "dir", dir, "name", name, "err", err)
		}
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	Headers(h)
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", disposition(name))
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// disposition is the Content-Disposition of an artifact: always an
// attachment, with its name when the name can be written in the header.
func disposition(name string) string {
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": name}); v != "" {
		return v
	}
	return "attachment"
}
