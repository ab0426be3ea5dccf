package manifest_test

import (
	"testing"

	"builds/internal/manifest"
)

func TestParseSource(t *testing.T) {
	tests := []struct {
		in   string
		want manifest.Source
	}{
		{"https://git.example.org/~jane/project", manifest.Source{Dir: "project", SCM: "git", URL: "https://git.example.org/~jane/project"}},
		{"https://git.example.org/project.git/", manifest.Source{Dir: "project", SCM: "git", URL: "https://git.example.org/project.git/"}},
		{"https://git.example.org/project.git#v1.2", manifest.Source{Dir: "project", SCM: "git", URL: "https://git.example.org/project.git", Ref: "v1.2"}},
		{"https://git.example.org/a#b#c", manifest.Source{Dir: "a", SCM: "git", URL: "https://git.example.org/a#b#c"}},
		{"git+https://git.example.org/x", manifest.Source{Dir: "x", SCM: "git", URL: "https://git.example.org/x"}},
		{"git+ssh://git@git.example.org/x", manifest.Source{Dir: "x", SCM: "git", URL: "ssh://git@git.example.org/x"}},
		{"hg+https://hg.example.org/tools#stable", manifest.Source{Dir: "tools", SCM: "hg", URL: "https://hg.example.org/tools", Ref: "stable"}},
		{"docs::https://git.example.org/project-docs", manifest.Source{Dir: "docs", SCM: "git", URL: "https://git.example.org/project-docs"}},
		{"src/lib::hg+https://hg.example.org/lib#1.0", manifest.Source{Dir: "src/lib", SCM: "hg", URL: "https://hg.example.org/lib", Ref: "1.0"}},
		{"git@git.example.org:jane/dots.git", manifest.Source{Dir: "dots", SCM: "git", URL: "git@git.example.org:jane/dots.git"}},
		{"git@git.example.org:dots", manifest.Source{Dir: "dots", SCM: "git", URL: "git@git.example.org:dots"}},
		{"https://[::1]:8080/repo.git", manifest.Source{Dir: "repo", SCM: "git", URL: "https://[::1]:8080/repo.git"}},
		{"https://git.example.org/a+b", manifest.Source{Dir: "a+b", SCM: "git", URL: "https://git.example.org/a+b"}},
		{"./a/../b::https://git.example.org/x", manifest.Source{Dir: "b", SCM: "git", URL: "https://git.example.org/x"}},
	}
	for _, tt := range tests {
		got, err := manifest.ParseSource(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseSource(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseSourceInvalid(t *testing.T) {
	for _, in := range []string{
		"", "::x", "../x::https://e.org/y", "/x::https://e.org/y", "~/x::https://e.org/y",
		".::https://e.org/y", "https://e.org/", "https://e.org/x#", "https://e.org/x#-b",
		"-u", "svn+https://e.org/x", "a b", "a\nb", "x::-u",
	} {
		if got, err := manifest.ParseSource(in); err == nil {
			t.Errorf("ParseSource(%q) = %+v, want an error", in, got)
		}
	}
}
