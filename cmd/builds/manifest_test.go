package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFiles writes name -> content files into a temporary directory and
// returns their paths in the order of names.
func writeFiles(t *testing.T, files map[string]string, names ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte(files[n]), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func TestManifestCheck(t *testing.T) {
	files := map[string]string{
		"good.yml": "image: debian/bookworm\ntasks:\n  - build: make\n",
		"bad.yml":  "image: debian/bookworm\ntask:\n  - build: make\n",
		"big.yml":  "image: a\n#" + strings.Repeat("x", 70000) + "\n",
	}
	paths := writeFiles(t, files, "good.yml", "bad.yml", "big.yml")
	missing := filepath.Join(t.TempDir(), "missing.yml")
	var out bytes.Buffer
	err := checkManifests(&out, strings.NewReader("image: debian/bookworm\nshell: true\n"),
		append(paths, missing, "-"))
	var exit exitError
	if !errors.As(err, &exit) || exit != 1 {
		t.Errorf("checkManifests = %v, want exit status 1", err)
	}
	want := []string{
		paths[0] + ": ok",
		paths[1] + `:1:1: missing key "tasks"; it is required unless "shell: true" is set`,
		paths[1] + `:2:1: warning: task: unknown key "task" (did you mean "tasks"?); valid keys are `,
		paths[2] + ": manifest is larger than the limit of 64 KiB (65536 bytes), which builds.sr.ht refuses too; move long scripts into a file in your repository and run that file from a task",
		missing + ": cannot read: no such file or directory",
		"<stdin>: ok",
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("output:\n%s\nwant %d lines", out.String(), len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d:\n got %s\nwant %s...", i+1, lines[i], w)
		}
	}
}

// TestManifestCheckEndlessInput checks that an endless file is refused
// after the size limit instead of being read until memory runs out.
func TestManifestCheckEndlessInput(t *testing.T) {
	var out bytes.Buffer
	err := checkManifests(&out, endless{}, []string{"/dev/zero", "-"})
	var exit exitError
	if !errors.As(err, &exit) || exit != 1 {
		t.Errorf("checkManifests = %v, want exit status 1", err)
	}
	const msg = "manifest is larger than the limit of 64 KiB (65536 bytes), which builds.sr.ht refuses too; " +
		"move long scripts into a file in your repository and run that file from a task\n"
	want := "/dev/zero: " + msg + "<stdin>: " + msg
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

// endless is standard input that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

func TestManifestCheckAllValid(t *testing.T) {
	examples, err := filepath.Glob("../../examples/*.yml")
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	var out bytes.Buffer
	if err := checkManifests(&out, strings.NewReader(""), examples); err != nil {
		t.Errorf("checkManifests(examples) = %v\n%s", err, out.String())
	}
	if n := strings.Count(out.String(), ": ok\n"); n != len(examples) {
		t.Errorf("%d ok lines for %d files:\n%s", n, len(examples), out.String())
	}
}

func TestManifestCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"manifest"},
		{"manifest", "check"},
		{"manifest", "lint", "x.yml"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
		if !strings.Contains(errb.String(), "builds manifest") {
			t.Errorf("run(%q) printed %q, want a usage message", args, errb.String())
		}
	}
}

// TestManifestCheckWarnings checks that a manifest with keys we ignore is
// valid: its warnings are printed and the exit status is 0.
func TestManifestCheckWarnings(t *testing.T) {
	paths := writeFiles(t, map[string]string{
		"w.yml": "image: debian/bookworm\nsubmitter:\n  git.sr.ht: {enabled: false}\ntasks:\n  - a: b\n",
	}, "w.yml")
	var out bytes.Buffer
	if err := checkManifests(&out, strings.NewReader(""), paths); err != nil {
		t.Errorf("checkManifests = %v, want success", err)
	}
	want := paths[0] + `:2:1: warning: submitter: unknown key "submitter"; valid keys are image, arch, packages, repositories, sources, environment, secrets, shell, tasks, triggers, artifacts, oauth; it is ignored
` + paths[0] + ": ok\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestManifestCommandExit checks the exit status through the whole command
// line path. The report itself goes to standard output.
func TestManifestCommandExit(t *testing.T) {
	paths := writeFiles(t, map[string]string{
		"good.yml": "image: debian/bookworm\nshell: true\n",
		"bad.yml":  "image: debian/bookworm\n",
	}, "good.yml", "bad.yml")
	var out, errb bytes.Buffer
	if code := run([]string{"manifest", "check", paths[0]}, &out, &errb); code != 0 {
		t.Errorf("valid manifest: exit status %d, stderr %q", code, errb.String())
	}
	if code := run([]string{"manifest", "check", paths[0], paths[1]}, &out, &errb); code != 1 {
		t.Errorf("invalid manifest: exit status %d, want 1", code)
	}
	if errb.Len() != 0 {
		t.Errorf("unexpected stderr: %q", errb.String())
	}
}

// TestSubmitPrintsWarnings checks that builds submit tells what the
// manifest holds that is ignored, as manifest check does.
func TestSubmitPrintsWarnings(t *testing.T) {
	var out bytes.Buffer
	printWarnings(&out, "-", []byte("image: a\nsubmitter: {}\ntasks: [{a: b}]\n"))
	if want := `<stdin>:2:1: warning: submitter: unknown key "submitter"`; !strings.HasPrefix(out.String(), want) {
		t.Errorf("printed %q, want %q...", out.String(), want)
	}
	out.Reset()
	printWarnings(&out, "x.yml", []byte("image: a\ntasks: [{a: b}]\n"))
	if out.Len() != 0 {
		t.Errorf("printed %q for a clean manifest", out.String())
	}
}

// TestSecretAddUUIDFlag checks that builds secret add passes --uuid on.
func TestSecretAddUUIDFlag(t *testing.T) {
	fs := flag.NewFlagSet("secret", flag.ContinueOnError)
	secretCommand().flags(fs)
	file := writeFiles(t, map[string]string{"netrc": "machine x"}, "netrc")[0]
	if err := fs.Parse([]string{"--kind", "file", "--path", "~/.netrc", "--uuid", "2a6ed1c4-7e4c-4b47-9d3f-8f9a2f4f1c2e"}); err != nil {
		t.Fatal(err)
	}
	in, err := secretInput(fs, file)
	if err != nil || in.UUID != "2a6ed1c4-7e4c-4b47-9d3f-8f9a2f4f1c2e" || string(in.Data) != "machine x" {
		t.Errorf("secretInput = %+v, %v", in, err)
	}
}
