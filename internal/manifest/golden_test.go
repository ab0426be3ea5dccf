package manifest_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"builds/internal/build"
	"builds/internal/manifest"
)

var update = flag.Bool("update", false, "rewrite the expected problems in testdata/invalid")

// wantMarker separates a manifest from the problems Parse must report for
// it in the files of testdata/invalid.
const wantMarker = "\n#-- want --\n"

// TestInvalid parses each manifest in testdata/invalid and compares the
// problems with the ones written after the marker, one per line.
func TestInvalid(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			src, want, _ := strings.Cut(string(data), wantMarker)
			got := formatProblems(t, src)
			if *update {
				if err := os.WriteFile(file, []byte(src+wantMarker+got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != want {
				t.Errorf("problems:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// formatProblems parses src, which must be invalid, and returns its
// problems as "LINE:COL: PATH: MESSAGE" lines, then its warnings as the
// same lines prefixed with "warning: ".
func formatProblems(t *testing.T, src string) string {
	t.Helper()
	m, err := manifest.Parse([]byte(src))
	if err == nil {
		t.Fatalf("Parse succeeded: %+v", m)
	}
	if m != nil {
		t.Errorf("Parse returned a manifest with an error")
	}
	var errs *manifest.Errors
	if !errors.As(err, &errs) || len(errs.Problems) == 0 {
		t.Fatalf("error %T is not a non-empty *manifest.Errors: %v", err, err)
	}
	if code := build.ErrorCode(err); code != build.EINVALID {
		t.Errorf("ErrorCode = %q, want %q", code, build.EINVALID)
	}
	var b strings.Builder
	for _, p := range errs.Problems {
		fmt.Fprintf(&b, "%d:%d: %s: %s\n", p.Line, p.Column, p.Path, p.Message)
	}
	for _, p := range errs.Warnings {
		fmt.Fprintf(&b, "warning: %d:%d: %s: %s\n", p.Line, p.Column, p.Path, p.Message)
	}
	return b.String()
}
