package manifest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"builds/internal/manifest"
)

// TestParseAliasBomb checks that aliases cannot make Parse do work out of
// proportion to the manifest's size ("billion laughs").
func TestParseAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("image: a\nx0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		ref := fmt.Sprintf("*a%d", i-1)
		fmt.Fprintf(&b, "x%d: &a%d [%s]\n", i, i, strings.Repeat(ref+", ", 9)+ref)
	}
	for _, key := range []string{"tasks", "packages", "sources", "artifacts", "secrets", "triggers"} {
		fmt.Fprintf(&b, "%s: *a8\n", key)
	}
	b.WriteString("environment: {A: *a8, B: *a1}\n")
	start := time.Now()
	_, err := manifest.Parse([]byte(b.String()))
	if err == nil {
		t.Fatal("Parse accepted the manifest")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Parse took %v", d)
	}
	t.Logf("%d bytes, %d problems, %v", b.Len(), strings.Count(err.Error(), "\n")+1, time.Since(start))
}

func TestParseManyProblems(t *testing.T) {
	src := "image: debian/bookworm\ntasks: [{a: b}]\npackages:\n" + strings.Repeat("- ''\n", 300)
	_, err := manifest.Parse([]byte(src))
	errs, ok := err.(*manifest.Errors)
	if !ok {
		t.Fatalf("Parse = %v", err)
	}
	if n := len(errs.Problems); n != manifest.MaxProblems+1 {
		t.Fatalf("%d problems, want %d", n, manifest.MaxProblems+1)
	}
	if last := errs.Problems[manifest.MaxProblems].Message; last != "200 more problems not shown" {
		t.Errorf("last problem = %q", last)
	}
}
