package manifest_test

import (
	"reflect"
	"strings"
	"testing"

	"builds/internal/build"
	"builds/internal/manifest"
)

// parse parses src, which must be valid.
func parse(t *testing.T, src string) *manifest.Manifest {
	t.Helper()
	m, err := manifest.Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func TestParseFull(t *testing.T) {
	src := `image: debian/bookworm
arch: amd64
packages: [build-essential, "libc6:i386", pkg=1.0~rc1]
repositories:
  zz: https://deb.example.org/debian bookworm main 0123ABCD
  aa: https://deb.example.org/other bookworm main
sources:
  - https://git.example.org/~jane/project.git#v1.2
  - lib::hg+https://hg.example.org/lib
environment:
  GREETING: hello world
  COUNT: 1234567
  PRICE: 1.50
  DEBUG: True
  NAMES: [a, 2, false]
secrets:
  - 5c4f6e6a-1111-4222-8333-944445555666
  - deploy-key
shell: false
tasks:
  - setup: |
      cd project
      ./configure
  - build: make
triggers:
  - action: email
    condition: failure
    to: Jane <jane@example.org>
    cc: ops@example.org
    in_reply_to: <123@example.org>
  - action: webhook
    condition: always
    url: https://hooks.example.org/ci
artifacts:
  - ~/project/out.tar.gz
  - ./project/docs/manual.pdf
oauth: JOBS:RO LOGS:RO
`
	m := parse(t, src)
	want := &manifest.Manifest{
		Raw:   src,
		Image: "debian/bookworm", Distro: "debian", Release: "bookworm", Arch: "amd64",
		Packages: []string{"build-essential", "libc6:i386", "pkg=1.0~rc1"},
		Repositories: []manifest.Repository{
			{Name: "zz", Source: "https://deb.example.org/debian bookworm main 0123ABCD"},
			{Name: "aa", Source: "https://deb.example.org/other bookworm main"},
		},
		Sources: []manifest.Source{
			{Dir: "project", SCM: "git", URL: "https://git.example.org/~jane/project.git", Ref: "v1.2"},
			{Dir: "lib", SCM: "hg", URL: "https://hg.example.org/lib"},
		},
		Environment: []manifest.EnvVar{
			{Name: "GREETING", Value: "hello world"},
			{Name: "COUNT", Value: "1234567"},
			{Name: "PRICE", Value: "1.50"},
			{Name: "DEBUG", Value: "true"},
			{Name: "NAMES", IsList: true, List: []string{"a", "2", "false"}},
		},
		Secrets: []string{"5c4f6e6a-1111-4222-8333-944445555666", "deploy-key"},
		Tasks: []manifest.Task{
			{Name: "setup", Script: "cd project\n./configure\n"},
			{Name: "build", Script: "make"},
		},
		Triggers: []build.Trigger{
			{Action: build.TriggerEmail, Condition: build.OnFailure, To: "Jane <jane@example.org>",
				Cc: "ops@example.org", InReplyTo: "<123@example.org>"},
			{Action: build.TriggerWebhook, Condition: build.OnAlways, URL: "https://hooks.example.org/ci"},
		},
		Artifacts: []string{"project/out.tar.gz", "project/docs/manual.pdf"},
		OAuth:     "JOBS:RO LOGS:RO",
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Parse:\n got %+v\nwant %+v", m, want)
	}
	if got := m.TaskNames(); !reflect.DeepEqual(got, []string{"setup", "build"}) {
		t.Errorf("TaskNames = %q", got)
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		check func(*manifest.Manifest) bool
	}{
		{"distro alone", "image: archlinux\ntasks:\n- a: b\n", func(m *manifest.Manifest) bool {
			return m.Distro == "archlinux" && m.Release == ""
		}},
		{"shell without tasks", "image: debian/bookworm\nshell: true\n", func(m *manifest.Manifest) bool {
			return m.Shell && len(m.Tasks) == 0
		}},
		{"shell with empty tasks", "image: debian/bookworm\nshell: true\ntasks: []\n", func(m *manifest.Manifest) bool {
			return m.Shell
		}},
		{"numbers as written", "image: a\ntasks: [{a: b}]\nenvironment: {A: 0x1F, B: 1e3, C: -0, D: 007}\n", func(m *manifest.Manifest) bool {
			e := m.Environment
			return e[0].Value == "0x1F" && e[1].Value == "1e3" && e[2].Value == "-0" && e[3].Value == "007"
		}},
		{"yes stays a string", "image: a\ntasks: [{a: b}]\nenvironment: {A: yes, B: FALSE}\n", func(m *manifest.Manifest) bool {
			return m.Environment[0].Value == "yes" && m.Environment[1].Value == "false"
		}},
		{"empty string and empty list", "image: a\ntasks: [{a: b}]\nenvironment: {A: '', B: []}\n", func(m *manifest.Manifest) bool {
			e := m.Environment
			return e[0].Value == "" && !e[0].IsList && e[1].IsList && len(e[1].List) == 0
		}},
		{"alias in task", "image: a\nenvironment: {A: &v hello}\ntasks:\n- a: *v\n", func(m *manifest.Manifest) bool {
			return m.Tasks[0].Script == "hello"
		}},
		{"task script that is a number", "image: a\ntasks:\n- a: 1.0\n", func(m *manifest.Manifest) bool {
			return m.Tasks[0].Script == "1.0"
		}},
		{"empty lists", "image: a\ntasks: [{a: b}]\npackages:\nsources: []\ntriggers: []\n", func(m *manifest.Manifest) bool {
			return len(m.Packages) == 0 && len(m.Sources) == 0
		}},
		{"trailing document marker", "image: a\ntasks: [{a: b}]\n...\n", nil},
		{"exactly max size", padTo("image: a\ntasks: [{a: b}]\n", manifest.MaxSize), nil},
		{"task name limits", "image: a\ntasks:\n- " + strings.Repeat("a", 128) + ": b\n- 0_-z: c\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := manifest.Parse([]byte(tt.src))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if tt.check != nil && !tt.check(m) {
				t.Errorf("unexpected result: %+v", m)
			}
		})
	}
}

// padTo pads src with a comment to n bytes.
func padTo(src string, n int) string {
	return src + "#" + strings.Repeat("x", n-len(src)-2) + "\n"
}
