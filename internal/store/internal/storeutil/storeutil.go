// Package storeutil holds the rules that the sqlite and postgres stores
// apply identically, so that both behave alike by construction.
package storeutil

import (
	"strings"

	"builds/internal/build"
)

// Page sizes for listings.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Limit returns n clamped to a page size: DefaultLimit when n <= 0, and at
// most MaxLimit.
func Limit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// JobSources returns the statuses a job may be in to become to. The stores
// put them in the WHERE clause of one UPDATE, which makes the transition
// check atomic without a lock.
func JobSources(to build.JobStatus) []string {
	var out []string
	for _, s := range build.JobStatuses {
		if s.CanBecome(to) {
			out = append(out, string(s))
		}
	}
	return out
}

// TaskSources is JobSources for tasks.
func TaskSources(to build.TaskStatus) []string {
	var out []string
	for _, s := range build.TaskStatuses {
		if s.CanBecome(to) {
			out = append(out, string(s))
		}
	}
	return out
}

// TagPath joins tags with '/' for prefix matching: a job tagged a, b, c
// matches the filters [a], [a b] and [a b c].
func TagPath(tags []string) string { return strings.Join(tags, "/") }

// CheckJob validates what CreateJob stores.
func CheckJob(j *build.Job) error {
	if !j.Status.Valid() {
		return build.Errorf(build.EINVALID, "unknown job status %q", j.Status)
	}
	if !j.Visibility.Valid() {
		return build.Errorf(build.EINVALID, "unknown visibility %q; use PUBLIC, UNLISTED or PRIVATE", j.Visibility)
	}
	seen := make(map[string]bool, len(j.Tasks))
	for i := range j.Tasks {
		t := &j.Tasks[i]
		if t.Status == "" {
			t.Status = build.TaskPending
		}
		if !t.Status.Valid() {
			return build.Errorf(build.EINVALID, "task %q: unknown status %q", t.Name, t.Status)
		}
		if seen[t.Name] {
			return build.Errorf(build.EINVALID, "task name %q is used twice; task names must be unique", t.Name)
		}
		seen[t.Name] = true
	}
	return nil
}

// CheckSecret validates what CreateSecret stores.
func CheckSecret(s *build.Secret) error {
	if !s.Kind.Valid() {
		return build.Errorf(build.EINVALID, "unknown secret kind %q; use ssh_key, pgp_key or plaintext_file", s.Kind)
	}
	if s.Kind == build.SecretFile && s.Path == "" {
		return build.Errorf(build.EINVALID, "a file secret needs a path")
	}
	return nil
}

// SecretAD is the additional data a secret's ciphertext is bound to, so
// that data copied into another secret's row does not decrypt.
func SecretAD(uuid string) []byte { return []byte("builds secret " + uuid) }
