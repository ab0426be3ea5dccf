package manifest_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"builds/internal/manifest"
)

// FuzzParse checks that Parse never panics, that it returns either a
// manifest or an *Errors, and that what it accepts renders safely.
func FuzzParse(f *testing.F) {
	for _, glob := range []string{"../../examples/*.yml", "testdata/invalid/*.txt"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("image: a\ntasks: [{a: b}]\nenvironment: {A: &x [1, *x]}\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := manifest.Parse(data)
		if err != nil {
			var errs *manifest.Errors
			if m != nil || !errors.As(err, &errs) || len(errs.Problems) == 0 {
				t.Fatalf("Parse = %v, %T %v", m, err, err)
			}
			return
		}
		checkAccepted(t, m)
	})
}

// checkAccepted checks the promises Manifest's doc comments make.
func checkAccepted(t *testing.T, m *manifest.Manifest) {
	for _, s := range m.Sources {
		if escapes(s.Dir) || strings.HasPrefix(s.URL, "-") || strings.HasPrefix(s.Ref, "-") {
			t.Errorf("unsafe source accepted: %+v", s)
		}
	}
	for _, a := range m.Artifacts {
		if escapes(a) {
			t.Errorf("unsafe artifact accepted: %q", a)
		}
	}
	for _, task := range m.Tasks {
		if !strings.Contains(m.TaskScript(task), task.Script) {
			t.Errorf("task script lost the task's body")
		}
	}
	_ = m.EnvFile()
}

// escapes reports whether a relative path leaves the directory it is in.
func escapes(p string) bool {
	return p == "" || filepath.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") || strings.HasPrefix(p, "~")
}
