package manifest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"builds/internal/manifest"
)

// compatDirs are where a checkout may find the corpus of real-world
// manifests: next to the repository, or on the shared work machine.
var compatDirs = []string{"../../../shared/compat/manifests", "/work/shared/compat/manifests"}

// largestRealManifest returns the largest manifest of the corpus that
// parses, or "" when there is no corpus.
func largestRealManifest(b *testing.B) (name string, data []byte) {
	for _, dir := range compatDirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yml"))
		for _, f := range files {
			d, err := os.ReadFile(f)
			if err != nil || len(d) <= len(data) {
				continue
			}
			if _, err := manifest.Parse(d); err == nil {
				name, data = filepath.Base(f), d
			}
		}
		if data != nil {
			return name, data
		}
	}
	return "", nil
}

// generatedManifest is a large manifest of the shape real ones have:
// packages, sources, environment, secrets, many multi-line tasks.
func generatedManifest() []byte {
	var s strings.Builder
	s.WriteString("image: debian/bookworm\npackages:\n")
	for i := range 100 {
		fmt.Fprintf(&s, "  - package-%d\n", i)
	}
	s.WriteString("sources:\n")
	for i := range 10 {
		fmt.Fprintf(&s, "  - https://git.example.org/~u/repo%d#branch-%d\n", i, i)
	}
	s.WriteString("environment:\n")
	for i := range 50 {
		fmt.Fprintf(&s, "  VAR_%d: value number %d\n", i, i)
	}
	s.WriteString("tasks:\n")
	for i := range 60 {
		fmt.Fprintf(&s, "  - step%d: |\n      cd repo%d\n      ./configure --prefix=/usr --enable-feature-%d\n      make -j2\n      make check || { cat test.log; exit 1; }\n", i, i%10, i)
	}
	s.WriteString("artifacts:\n  - repo0/out.tar.gz\n")
	return []byte(s.String())
}

// BenchmarkParseLargeManifest is the cost of manifest.Parse (decode and
// validate) on the largest real manifest of the compatibility corpus, when
// it is present, and on a generated one of 60 tasks and 100 packages.
func BenchmarkParseLargeManifest(b *testing.B) {
	gen := generatedManifest()
	if _, err := manifest.Parse(gen); err != nil {
		b.Fatalf("the generated manifest does not parse: %v", err)
	}
	cases := []struct {
		name string
		data []byte
	}{{"generated", gen}}
	if name, data := largestRealManifest(b); data != nil {
		cases = append(cases, struct {
			name string
			data []byte
		}{"real=" + strings.TrimSuffix(name, ".yml"), data})
	} else {
		b.Log("no corpus of real manifests in ../shared/compat: the generated manifest only")
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := manifest.Parse(c.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
