package untrusted_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"builds/internal/untrusted"
)

func TestServeArtifact(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "report.html"), []byte("<script>alert(1)</script>"), 0o644)
	os.WriteFile(filepath.Join(t.TempDir(), "secret"), []byte("secret"), 0o644)
	os.Symlink("/etc/passwd", filepath.Join(dir, "link"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644)
	serve := func(name string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		untrusted.ServeArtifact(w, httptest.NewRequest("GET", "/artifacts/1/"+name, nil), dir, name)
		return w
	}
	w := serve("report.html")
	want := map[string]string{
		"Content-Type":            "application/octet-stream",
		"Content-Disposition":     `attachment; filename=report.html`,
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": untrusted.CSP,
	}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if w.Code != http.StatusOK || w.Body.String() != "<script>alert(1)</script>" {
		t.Errorf("report.html: %d %q", w.Code, w.Body)
	}
	for _, name := range []string{"link", "sub", "fifo", "../secret", ".hidden", "", "missing"} {
		if w := serve(name); w.Code != http.StatusNotFound {
			t.Errorf("%q: status %d, want 404", name, w.Code)
		}
	}
	if got := serve("r\u00e9sum\u00e9.pdf").Header().Get("Content-Disposition"); got != "" && got[:10] != "attachment" {
		t.Errorf("non-ASCII name: Content-Disposition %q", got)
	}
}
