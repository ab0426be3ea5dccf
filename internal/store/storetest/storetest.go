// Package storetest is the conformance suite every store.Store passes.
// An implementation's test calls Run with a function that opens a fresh,
// migrated, empty store for each subtest:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { ... })
//	}
package storetest

import (
	"fmt"
	"testing"

	"builds/internal/build"
	"builds/internal/store"
)

// Opener returns a fresh, migrated, empty store; it registers its own
// cleanup with t.
type Opener func(t *testing.T) store.Store

// Run runs every conformance test against stores made by open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"Users", testUsers},
		{"Passwords", testPasswords},
		{"Tokens", testTokens},
		{"TokenExpiry", testTokenExpiry},
		{"Sessions", testSessions},
		{"SessionExpiry", testSessionExpiry},
		{"LoginLinks", testLoginLinks},
		{"CreateJob", testCreateJob},
		{"CreateJobInvalid", testCreateJobInvalid},
		{"ListJobsFilters", testListJobsFilters},
		{"ListJobsTags", testListJobsTags},
		{"ListJobsSearch", testListJobsSearch},
		{"JobVisibility", testJobVisibility},
		{"ListJobsPages", testListJobsPages},
		{"JobsByStatus", testJobsByStatus},
		{"JobTransitions", testJobTransitions},
		{"JobRunner", testJobRunner},
		{"TaskTransitions", testTaskTransitions},
		{"RaceToRun", testRaceToRun},
		{"ConcurrentWrites", testConcurrentWrites},
		{"Groups", testGroups},
		{"GroupRefusals", testGroupRefusals},
		{"GroupClaim", testGroupClaim},
		{"Artifacts", testArtifacts},
		{"Secrets", testSecrets},
		{"SecretPages", testSecretPages},
		{"Webhooks", testWebhooks},
		{"SSHKeys", testSSHKeys},
		{"NotFound", testNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			if err := s.Ping(t.Context()); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			tc.fn(t, s)
		})
	}
}

// wantCode fails t unless err carries the domain error code.
func wantCode(t *testing.T, err error, code, what string) {
	t.Helper()
	if got := build.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

// must fails t now on an unexpected error.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func mkUser(t *testing.T, s store.Store, name string) *build.User {
	t.Helper()
	u := &build.User{Name: name, Email: name + "@example.org"}
	must(t, s.CreateUser(t.Context(), u), "CreateUser "+name)
	return u
}

// jobOpt adjusts a job before mkJob stores it.
type jobOpt func(*build.Job)

func withStatus(st build.JobStatus) jobOpt { return func(j *build.Job) { j.Status = st } }
func withVis(v build.Visibility) jobOpt    { return func(j *build.Job) { j.Visibility = v } }
func withTags(tags ...string) jobOpt       { return func(j *build.Job) { j.Tags = tags } }
func withTasks(names ...string) jobOpt {
	return func(j *build.Job) {
		for _, n := range names {
			j.Tasks = append(j.Tasks, build.Task{Name: n})
		}
	}
}

func mkJob(t *testing.T, s store.Store, owner *build.User, opts ...jobOpt) *build.Job {
	t.Helper()
	j := &build.Job{
		OwnerID:    owner.ID,
		Manifest:   "image: debian/stable\ntasks:\n- build: make\n",
		Visibility: build.Public,
		Status:     build.JobQueued,
		Image:      "debian/stable",
		Arch:       "amd64",
	}
	for _, o := range opts {
		o(j)
	}
	must(t, s.CreateJob(t.Context(), j), "CreateJob")
	return j
}

// setStatus moves a pending job along the legal path to st.
func setStatus(t *testing.T, s store.Store, j *build.Job, st build.JobStatus) {
	t.Helper()
	var path []build.JobStatus
	switch st {
	case build.JobPending:
	case build.JobQueued:
		path = []build.JobStatus{build.JobQueued}
	case build.JobRunning:
		path = []build.JobStatus{build.JobQueued, build.JobRunning}
	default:
		path = []build.JobStatus{build.JobQueued, build.JobRunning, st}
	}
	for _, next := range path {
		_, err := s.SetJobStatus(t.Context(), j.ID, next, "")
		must(t, err, fmt.Sprintf("SetJobStatus %s -> %s", j.Status, next))
		j.Status = next
	}
}
