// Package layering_test checks the import rules between the packages, so
// that a change that breaks them fails the suite instead of slowly
// tangling the layers.
package layering_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const module = "builds/"

// deps returns the packages pkg imports, directly or not: the module's
// own (without the module prefix) and, separately, whether any outside the
// standard library and the module appear.
func deps(t *testing.T, pkg string) (own, foreign []string) {
	t.Helper()
	out, err := exec.Command(goTool(t), "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", module+pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if rest, ok := strings.CutPrefix(p, module); ok {
			if rest != pkg {
				own = append(own, rest)
			}
			continue
		}
		foreign = append(foreign, p)
	}
	return own, foreign
}

func goTool(t *testing.T) string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := exec.LookPath(p); err != nil {
		t.Fatalf("the go command is needed to check imports: not in $PATH nor at %s", p)
	}
	return p
}

func TestDomainImportsOnlyTheStandardLibrary(t *testing.T) {
	own, foreign := deps(t, "internal/build")
	if len(own)+len(foreign) > 0 {
		t.Fatalf("internal/build imports %v; the domain may import only the standard library", append(own, foreign...))
	}
}

// forbidden lists, for each package, packages it must not import,
// directly or through others.
var forbidden = []struct {
	pkg, why string
	not      []string
}{
	{"internal/web", "web reads through store.Store and is a peer of api",
		[]string{"internal/store/sqlite", "internal/store/postgres", "internal/api", "internal/dispatch", "internal/agent", "internal/runner"}},
	{"internal/api", "api reads through store.Store and is a peer of web",
		[]string{"internal/store/sqlite", "internal/store/postgres", "internal/web", "internal/dispatch", "internal/agent", "internal/runner"}},
	{"internal/agent", "the runner side knows nothing of the master's",
		[]string{"internal/dispatch", "internal/lifecycle", "internal/submit", "internal/store", "internal/web", "internal/api"}},
	{"internal/runner", "the runner side knows nothing of the master's",
		[]string{"internal/dispatch", "internal/lifecycle", "internal/submit", "internal/store", "internal/web", "internal/api", "internal/agent"}},
	{"internal/wire", "both sides share wire, so it may import neither",
		[]string{"internal/dispatch", "internal/agent", "internal/runner", "internal/store", "internal/lifecycle"}},
	{"internal/lifecycle", "the lifecycle is below everything that subscribes to it",
		[]string{"internal/dispatch", "internal/agent", "internal/runner", "internal/web", "internal/api", "internal/metrics", "internal/store/sqlite", "internal/store/postgres"}},
	{"internal/dispatch", "the master side reaches stores through store.Store",
		[]string{"internal/store/sqlite", "internal/store/postgres", "internal/agent", "internal/web", "internal/api"}},
	{"internal/httpx", "shared by web and api, so it imports neither",
		[]string{"internal/web", "internal/api", "internal/store/sqlite", "internal/store/postgres"}},
}

func TestLayers(t *testing.T) {
	for _, rule := range forbidden {
		own, _ := deps(t, rule.pkg)
		for _, bad := range rule.not {
			if slices.Contains(own, bad) {
				t.Errorf("%s imports %s: %s", rule.pkg, bad, rule.why)
			}
		}
	}
}

var setterCall = regexp.MustCompile(`\.(SetJobStatus|SetTaskStatus|AddArtifact)\(`)

// TestStatusSettersHaveOneCaller checks that only the lifecycle (and the
// stores and their tests) call the store's status setters: every change of
// a job goes through the package that publishes it.
func TestStatusSettersHaveOneCaller(t *testing.T) {
	root := filepath.Join("..", "..")
	owner := 0
	for _, dir := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil || !setterCall.Match(b) {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			switch rel = filepath.ToSlash(rel); {
			case strings.HasPrefix(rel, "internal/lifecycle/"):
				owner++
			case strings.HasPrefix(rel, "internal/store/"):
			default:
				t.Errorf("%s calls a store status setter; go through the lifecycle package", rel)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if owner == 0 {
		t.Fatal("found no call in internal/lifecycle: the check is looking in the wrong place")
	}
}
