package manifest_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"builds/internal/manifest"
	"builds/internal/testenv"
)

// TestExamples parses every manifest in examples/ and the YAML blocks of
// the manifest documentation, so that neither drifts from the parser.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := manifest.Parse(data); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
}

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

func TestDocsExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/manifest.md")
	if os.IsNotExist(err) {
		testenv.Missing(t, "", "docs/manifest.md not present: run the tests from a full checkout")
	}
	if err != nil {
		t.Fatal(err)
	}
	blocks := yamlBlock.FindAllSubmatch(doc, -1)
	if len(blocks) == 0 {
		t.Error("docs/manifest.md has no YAML example")
	}
	for i, m := range blocks {
		if _, err := manifest.Parse(m[1]); err != nil {
			t.Errorf("docs/manifest.md, YAML block %d: %v", i+1, err)
		}
	}
}
