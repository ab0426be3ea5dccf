// Package manifest parses and validates build manifests, the YAML documents
// users submit, into a Manifest the master and the runners use directly.
//
// Parse reports every problem it finds at once, each with the key path,
// line and column of the offending value, so that a user can fix a manifest
// in one go. The package also renders what the guest runs: the environment
// file (EnvFile), each task's script (TaskScript) and the complete-build
// helper (CompleteBuildScript).
package manifest

import (
	"fmt"

	"builds/internal/build"
)

// MaxSize is the largest manifest accepted, in bytes: 64 KiB, so that any
// manifest builds.sr.ht runs is accepted here too.
const MaxSize = 64 << 10

// MaxProblems is how many problems Parse reports at most; a last one says
// how many more there were.
const MaxProblems = 100

// Manifest is a parsed, valid build manifest. Lists keep the order of the
// YAML source. A Manifest is not modified after Parse returns it and may be
// shared between goroutines.
type Manifest struct {
	// Raw is the YAML exactly as submitted.
	Raw string

	// Image is the image as written, e.g. "debian/bookworm" or "archlinux".
	Image string
	// Distro and Release split Image at its slash; Release is "" when the
	// image names only a distro.
	Distro, Release string
	// Arch is the requested architecture; "" means the image's default.
	Arch string

	Packages     []string
	Repositories []Repository
	Sources      []Source
	Environment  []EnvVar
	// Secrets are secret UUIDs or names, as written.
	Secrets []string
	// Shell keeps the VM alive after the tasks for SSH access.
	Shell    bool
	Tasks    []Task
	Triggers []build.Trigger
	// Artifacts are cleaned paths, either absolute ("/tmp/x.tar.gz") or
	// relative to the build user's home ("~/out/x.tar.gz" and
	// "./out/x.tar.gz" both become "out/x.tar.gz"). Their basenames are
	// unique.
	Artifacts []string
	// OAuth is the space-separated list of the grants this service
	// understands, as build.FormatGrants writes them; "" when the manifest
	// asks for none of them.
	OAuth string
	// OAuthForeign lists, as written, the grants the manifest asks for on
	// other services (e.g. "pages.sr.ht/PAGES:RW"); no token carries them.
	OAuthForeign []string

	// Warnings are things in the manifest that are accepted but ignored
	// (e.g. keys this service does not use), in source order.
	Warnings []Problem
}

// Repository is an extra package repository, added with the image's
// add_repository function before packages are installed.
type Repository struct {
	Name string
	// Source is image-specific; for Debian "url suite component [key-id]".
	Source string
}

// Source is a repository to clone into the build user's home.
type Source struct {
	// Dir is the checkout directory, relative to the build user's home;
	// it never contains ".." and is never absolute.
	Dir string
	// SCM is "git" or "hg".
	SCM string
	// URL is what to clone, without the dir:: and scm+ prefixes and the
	// #ref suffix. It never starts with "-".
	URL string
	// Ref is checked out after cloning; "" means the default branch.
	Ref string
}

// Task is one named step of a manifest.
type Task struct {
	Name   string
	Script string
}

// TaskNames returns the names of m's tasks in order.
func (m *Manifest) TaskNames() []string {
	names := make([]string, len(m.Tasks))
	for i, t := range m.Tasks {
		names[i] = t.Name
	}
	return names
}

// topKeys lists the valid top-level keys in the order the docs give them.
var topKeys = []string{
	"image", "arch", "packages", "repositories", "sources", "environment",
	"secrets", "shell", "tasks", "triggers", "artifacts", "oauth",
}

// Parse parses and validates a manifest. On failure it returns a nil
// Manifest and an *Errors listing every problem found.
func Parse(data []byte) (*Manifest, error) {
	if len(data) > MaxSize {
		return nil, &Errors{Problems: []Problem{{Message: sizeMessage(len(data))}}}
	}
	root, prob := decode(data)
	if prob != nil {
		return nil, &Errors{Problems: []Problem{*prob}}
	}
	p := &parser{m: &Manifest{Raw: string(data)}}
	p.document(root)
	sortProblems(p.warnings)
	warnings := capProblems(p.warnings)
	if len(p.problems) > 0 {
		sortProblems(p.problems)
		return nil, &Errors{Problems: capProblems(p.problems), Warnings: warnings}
	}
	p.m.Warnings = warnings
	return p.m, nil
}

// capProblems keeps the first MaxProblems problems and counts the rest.
func capProblems(ps []Problem) []Problem {
	if len(ps) <= MaxProblems {
		return ps
	}
	more := len(ps) - MaxProblems
	return append(ps[:MaxProblems:MaxProblems], Problem{Message: fmt.Sprintf("%d more problems not shown", more)})
}
