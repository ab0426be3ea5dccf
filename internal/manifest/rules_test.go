package manifest_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"builds/internal/manifest"
)

// warnings returns m's warnings as "path: message" lines.
func warnings(m *manifest.Manifest) []string {
	var out []string
	for _, w := range m.Warnings {
		out = append(out, w.Path+": "+w.Message)
	}
	return out
}

// wantWarning fails unless one of m's warnings is at path and holds text.
func wantWarning(t *testing.T, m *manifest.Manifest, path, text string) {
	t.Helper()
	for _, w := range m.Warnings {
		if w.Path == path && strings.Contains(w.Message, text) {
			return
		}
	}
	t.Errorf("no warning at %q containing %q; warnings: %q", path, text, warnings(m))
}

func TestUnknownKeysWarn(t *testing.T) {
	m := parse(t, `image: debian/bookworm
submitter:
  git.sr.ht:
    enabled: false
x-common: &common
  A: b
tasks:
  - a: b
triggers:
  - action: email
    condition: failure
    to: a@example.org
    from: b@example.org
`)
	wantWarning(t, m, "submitter", `unknown key "submitter"`)
	wantWarning(t, m, "submitter", "it is ignored")
	wantWarning(t, m, "x-common", `unknown key "x-common"`)
	wantWarning(t, m, "triggers[0].from", `unknown key "from"`)
	if len(m.Warnings) != 3 {
		t.Errorf("warnings = %q, want 3", warnings(m))
	}
}

func TestMergeKeys(t *testing.T) {
	m := parse(t, `x-env: &env
  A: from-anchor
  B: from-anchor
image: debian/bookworm
environment:
  <<: *env
  B: own
tasks:
  - a: b
`)
	got := map[string]string{}
	for _, e := range m.Environment {
		got[e.Name] = e.Value
	}
	if want := map[string]string{"A": "from-anchor", "B": "own"}; !reflect.DeepEqual(got, want) {
		t.Errorf("environment = %v, want %v", got, want)
	}
	// A merge at the top level supplies keys such as image.
	m = parse(t, "base: &base\n  image: debian/bookworm\n<<: *base\ntasks:\n  - a: b\n")
	if m.Image != "debian/bookworm" {
		t.Errorf("image = %q, want the merged debian/bookworm", m.Image)
	}
	_, err := manifest.Parse([]byte("image: debian/bookworm\ntasks: [{a: b}]\nenvironment:\n  <<: 3\n"))
	if err == nil || !strings.Contains(err.Error(), "a merge key (<<) takes a map") {
		t.Errorf("merge of a number: %v", err)
	}
}

func TestEmptyEnvironmentValue(t *testing.T) {
	m := parse(t, "image: debian/bookworm\nenvironment:\n  EMPTY:\n  TILDE: ~\ntasks: [{a: b}]\n")
	for _, e := range m.Environment {
		if e.Value != "" || e.IsList {
			t.Errorf("%s = %+v, want the empty string", e.Name, e)
		}
	}
	if len(m.Environment) != 2 {
		t.Errorf("environment = %+v", m.Environment)
	}
	if env := m.EnvFile(); !strings.Contains(env, "export EMPTY=''\n") {
		t.Errorf("EnvFile does not export EMPTY as '':\n%s", env)
	}
}

func TestPackageItems(t *testing.T) {
	m := parse(t, `image: debian/bookworm
packages:
  - python3>=3.10
  - foo=1.2
  - "libfoo-dev  libbar-dev"
  - py3-pip<24
tasks: [{a: b}]
`)
	want := []string{"python3>=3.10", "foo=1.2", "libfoo-dev", "libbar-dev", "py3-pip<24"}
	if !reflect.DeepEqual(m.Packages, want) {
		t.Errorf("packages = %q, want %q", m.Packages, want)
	}
	_, err := manifest.Parse([]byte("image: a\ntasks: [{a: b}]\npackages: [\"a $(id)\"]\n"))
	if err == nil || !strings.Contains(err.Error(), `"$(id)" is not a package name`) || !strings.Contains(err.Error(), "builds.sr.ht") {
		t.Errorf("shell characters in a package: %v", err)
	}
}

func TestEmailTriggerWithOnlyCc(t *testing.T) {
	m := parse(t, "image: a\ntasks: [{a: b}]\ntriggers:\n  - action: email\n    condition: always\n    cc: ops@example.org\n")
	if len(m.Triggers) != 1 || m.Triggers[0].Cc != "ops@example.org" || m.Triggers[0].To != "" {
		t.Errorf("triggers = %+v", m.Triggers)
	}
	_, err := manifest.Parse([]byte("image: a\ntasks: [{a: b}]\ntriggers:\n  - action: email\n    condition: always\n"))
	if err == nil || !strings.Contains(err.Error(), `missing key "to"`) || !strings.Contains(err.Error(), "builds.sr.ht") {
		t.Errorf("email trigger with neither to nor cc: %v", err)
	}
}

func TestAbsoluteArtifacts(t *testing.T) {
	m := parse(t, "image: a\ntasks: [{a: b}]\nartifacts:\n  - /tmp/out//x.tar.gz\n  - ~/y.txt\n")
	if want := []string{"/tmp/out/x.tar.gz", "y.txt"}; !reflect.DeepEqual(m.Artifacts, want) {
		t.Errorf("artifacts = %q, want %q", m.Artifacts, want)
	}
	_, err := manifest.Parse([]byte("image: a\ntasks: [{a: b}]\nartifacts: [/]\n"))
	if err == nil || !strings.Contains(err.Error(), "must name a file") {
		t.Errorf("artifact /: %v", err)
	}
}

func TestTaskNamedLog(t *testing.T) {
	m := parse(t, "image: a\ntasks:\n  - log: echo hi\n")
	if got := m.TaskNames(); !reflect.DeepEqual(got, []string{"log"}) {
		t.Errorf("tasks = %q", got)
	}
}

func TestDuplicateSecretUsedOnce(t *testing.T) {
	const id = "5c4f6e6a-1111-4222-8333-944445555666"
	m := parse(t, "image: a\ntasks: [{a: b}]\nsecrets:\n  - "+id+"\n  - "+id+"\n")
	if !reflect.DeepEqual(m.Secrets, []string{id}) {
		t.Errorf("secrets = %q, want it once", m.Secrets)
	}
	wantWarning(t, m, "secrets[1]", "listed twice; it is installed once")
}

func TestMultiLineRepository(t *testing.T) {
	m := parse(t, `image: alpine/3.17
repositories:
  sr.ht: >
    https://mirror.sr.ht/alpine/v3.17/sr.ht/
    https://mirror.sr.ht/alpine/alpine%40sr.ht.rsa.pub
    alpine@sr.ht.rsa.pub
  lit: |
    https://deb.example.org/debian
    bookworm main
tasks: [{a: b}]
`)
	want := []manifest.Repository{
		{Name: "sr.ht", Source: "https://mirror.sr.ht/alpine/v3.17/sr.ht/ https://mirror.sr.ht/alpine/alpine%40sr.ht.rsa.pub alpine@sr.ht.rsa.pub"},
		{Name: "lit", Source: "https://deb.example.org/debian bookworm main"},
	}
	if !reflect.DeepEqual(m.Repositories, want) {
		t.Errorf("repositories = %q, want %q", m.Repositories, want)
	}
}

func TestSizeLimit64KiB(t *testing.T) {
	if manifest.MaxSize != 64<<10 {
		t.Errorf("MaxSize = %d, want 64 KiB", manifest.MaxSize)
	}
	src := "image: a\ntasks:\n  - a: |\n"
	for len(src) < 60<<10 {
		src += "      echo some long line of a script that is long\n"
	}
	parse(t, src)
	_, err := manifest.Parse([]byte(src + strings.Repeat("#", 5<<10)))
	if err == nil || !strings.Contains(err.Error(), "64 KiB") {
		t.Errorf("manifest over 64 KiB: %v", err)
	}
}

func TestOAuthForeignGrants(t *testing.T) {
	m := parse(t, "image: a\ntasks: [{a: b}]\noauth: pages.sr.ht/PAGES:RW builds.sr.ht/JOBS:RO git.sr.ht/REPOSITORIES:RW LOGS:RO\n")
	if m.OAuth != "JOBS:RO LOGS:RO" {
		t.Errorf("OAuth = %q, want the grants of this service only", m.OAuth)
	}
	if want := []string{"pages.sr.ht/PAGES:RW", "git.sr.ht/REPOSITORIES:RW"}; !reflect.DeepEqual(m.OAuthForeign, want) {
		t.Errorf("OAuthForeign = %q, want %q", m.OAuthForeign, want)
	}
	wantWarning(t, m, "oauth", "pages.sr.ht/PAGES:RW git.sr.ht/REPOSITORIES:RW) are not granted")
	m = parse(t, "image: a\ntasks: [{a: b}]\noauth: pages.sr.ht/PAGES:RW\n")
	if m.OAuth != "" || len(m.OAuthForeign) != 1 {
		t.Errorf("only foreign grants: OAuth %q, foreign %q", m.OAuth, m.OAuthForeign)
	}
	_, err := manifest.Parse([]byte("image: a\ntasks: [{a: b}]\noauth: builds.sr.ht/PAGES:RW\n"))
	if err == nil || !strings.Contains(err.Error(), "unknown scope") || !strings.Contains(err.Error(), "builds.sr.ht cannot grant it either") {
		t.Errorf("unknown scope of this service: %v", err)
	}
}

// TestRefusalsNameTheOriginal checks that what we refuse because it would
// fail at run time says that builds.sr.ht fails on it too, and how to fix it.
func TestRefusalsNameTheOriginal(t *testing.T) {
	for _, tc := range []struct{ name, src, fix string }{
		{"nested map", "environment:\n  A:\n    B: c\n", "use separate variables such as A_KEY"},
		{"bad name", "environment:\n  with-dash: x\n", "use letters, digits and '_'"},
		{"svn", "sources: [svn+https://svn.example.org/r]\n", "use git+ or hg+"},
		{"same dir", "sources: [https://a.example.org/x, https://b.example.org/x]\n", "dir::url"},
	} {
		_, err := manifest.Parse([]byte("image: a\ntasks: [{a: b}]\n" + tc.src))
		if err == nil || !strings.Contains(err.Error(), "builds.sr.ht would fail") && !strings.Contains(err.Error(), "on builds.sr.ht too") {
			t.Errorf("%s: %v; want it to say builds.sr.ht fails too", tc.name, err)
		} else if !strings.Contains(err.Error(), tc.fix) {
			t.Errorf("%s: %v; want the fix %q", tc.name, err, tc.fix)
		}
	}
}

// TestAcurl runs a task script of a manifest with an oauth key under bash,
// with a stand-in curl that prints its arguments: acurl must hand curl the
// token, and "set -x" must not echo it into the log.
func TestAcurl(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	m := parse(t, "image: a\noauth: JOBS:RO\ntasks:\n  - api: acurl -s https://builds.example.org/api/jobs\n")
	home := t.TempDir()
	bin := filepath.Join(home, "bin")
	os.Mkdir(bin, 0o755)
	os.WriteFile(filepath.Join(bin, "curl"), []byte("#!/bin/sh\necho \"curl $*\"\n"), 0o755)
	env := m.EnvFile(manifest.EnvVar{Name: "OAUTH2_TOKEN", Value: "tok-s3cret"}, manifest.EnvVar{Name: "PATH", Value: bin + ":/usr/bin:/bin"})
	os.WriteFile(filepath.Join(home, manifest.EnvFileName), []byte(env), 0o600)
	script := filepath.Join(home, "task")
	os.WriteFile(script, []byte(m.TaskScript(m.Tasks[0])), 0o755)
	cmd := exec.Command(bash, script)
	cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin"}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("task: %v\n%s", err, stderr.String())
	}
	if want := "curl --oauth2-bearer tok-s3cret -s https://builds.example.org/api/jobs\n"; stdout.String() != want {
		t.Errorf("stdout = %q, want %q", stdout.String(), want)
	}
	if strings.Contains(stderr.String(), "tok-s3cret") {
		t.Errorf("the trace shows the token:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "acurl -s https://builds.example.org/api/jobs") {
		t.Errorf("the trace lacks the acurl command:\n%s", stderr.String())
	}
	if plain := parse(t, "image: a\ntasks: [{a: b}]\n"); strings.Contains(plain.TaskScript(plain.Tasks[0]), "acurl") {
		t.Error("acurl defined without an oauth key")
	}
}

// TestMergeBomb checks that merge keys cannot make a small manifest cost
// the parser an unbounded amount of work: each level merges the previous
// one a hundred times over, a million merges in all.
func TestMergeBomb(t *testing.T) {
	src := "a0: &a0 {k: v}\n"
	for i := 1; i <= 3; i++ {
		src += fmt.Sprintf("a%d: &a%d\n  <<: [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 100), ", "))
	}
	src += "image: a\ntasks: [{a: b}]\nenvironment:\n  <<: *a3\n"
	done := make(chan error, 1)
	go func() { _, err := manifest.Parse([]byte(src)); done <- err }()
	select {
	case err := <-done:
		var errs *manifest.Errors
		if !errors.As(err, &errs) || len(errs.Problems) != 1 || !strings.Contains(errs.Problems[0].Message, "merge keys expand to more than") {
			t.Errorf("merge bomb: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("merge bomb still being parsed after 10 s")
	}
}
