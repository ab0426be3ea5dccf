package manifest_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"builds/internal/manifest"
)

// compatDir finds the folder of real builds.sr.ht manifests shared beside
// the repository, or returns "" when it is absent.
func compatDir() string {
	for _, dir := range []string{"../../../shared/compat", "/work/shared/compat"} {
		if _, err := os.Stat(filepath.Join(dir, "manifests.tsv")); err == nil {
			return dir
		}
	}
	return ""
}

// TestCompatManifests parses every real manifest that public projects use
// with builds.sr.ht and checks that we reach the same verdict as the
// original service: what it accepts we accept, what it refuses we refuse.
func TestCompatManifests(t *testing.T) {
	dir := compatDir()
	if dir == "" {
		t.Skip("no compat manifests beside the repository (../shared/compat)")
	}
	f, err := os.Open(filepath.Join(dir, "manifests.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 6 || cols[0] == "file" {
			continue
		}
		n++
		data, err := os.ReadFile(filepath.Join(dir, "manifests", cols[0]))
		if err != nil {
			t.Errorf("%s: %v", cols[0], err)
			continue
		}
		want := strings.HasPrefix(cols[4], "ACCEPT") && strings.HasPrefix(cols[5], "ACCEPT")
		_, perr := manifest.Parse(data)
		switch {
		case want && perr != nil:
			t.Errorf("%s: builds.sr.ht accepts it, we refuse it: %v", cols[0], perr)
		case !want && perr == nil:
			t.Errorf("%s: builds.sr.ht refuses it (%s), we accept it", cols[0], cols[4])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("manifests.tsv lists no manifests")
	}
}
