package build_test

import (
	"errors"
	"fmt"
	"testing"

	"builds/internal/build"
)

func TestJobTransitions(t *testing.T) {
	allowed := map[[2]build.JobStatus]bool{
		{build.JobPending, build.JobQueued}:    true,
		{build.JobPending, build.JobCancelled}: true,
		{build.JobQueued, build.JobQueued}:     true,
		{build.JobQueued, build.JobRunning}:    true,
		{build.JobQueued, build.JobFailed}:     true,
		{build.JobQueued, build.JobCancelled}:  true,
		{build.JobRunning, build.JobSuccess}:   true,
		{build.JobRunning, build.JobFailed}:    true,
		{build.JobRunning, build.JobTimeout}:   true,
		{build.JobRunning, build.JobCancelled}: true,
	}
	for _, from := range build.JobStatuses {
		for _, to := range build.JobStatuses {
			want := allowed[[2]build.JobStatus{from, to}]
			if got := from.CanBecome(to); got != want {
				t.Errorf("%s -> %s: CanBecome = %v, want %v", from, to, got, want)
			}
			err := from.CheckTransition(to)
			if (err == nil) != want || (err != nil && build.ErrorCode(err) != build.ECONFLICT) {
				t.Errorf("%s -> %s: CheckTransition = %v", from, to, err)
			}
			if from.Terminal() && want {
				t.Errorf("terminal %s may become %s", from, to)
			}
		}
	}
	if err := build.JobQueued.CheckTransition("done"); build.ErrorCode(err) != build.EINVALID {
		t.Errorf("unknown status: %v", err)
	}
}

func TestTaskTransitions(t *testing.T) {
	for _, tc := range []struct {
		from, to build.TaskStatus
		ok       bool
	}{
		{build.TaskPending, build.TaskRunning, true},
		{build.TaskPending, build.TaskSkipped, true},
		{build.TaskRunning, build.TaskSuccess, true},
		{build.TaskRunning, build.TaskFailed, true},
		{build.TaskPending, build.TaskSuccess, false},
		{build.TaskSuccess, build.TaskFailed, false},
		{build.TaskFailed, build.TaskRunning, false},
		{build.TaskSkipped, build.TaskRunning, false},
	} {
		if err := tc.from.CheckTransition(tc.to); (err == nil) != tc.ok {
			t.Errorf("%s -> %s: %v, want ok=%v", tc.from, tc.to, err, tc.ok)
		}
	}
}

func TestTriggerConditions(t *testing.T) {
	for _, tc := range []struct {
		c    build.TriggerCondition
		s    build.JobStatus
		want bool
	}{
		{build.OnSuccess, build.JobSuccess, true},
		{build.OnSuccess, build.JobFailed, false},
		{build.OnFailure, build.JobFailed, true},
		{build.OnFailure, build.JobTimeout, true},
		{build.OnFailure, build.JobCancelled, true},
		{build.OnFailure, build.JobSuccess, false},
		{build.OnAlways, build.JobCancelled, true},
		{build.OnAlways, build.JobRunning, false},
	} {
		if got := tc.c.Matches(tc.s); got != tc.want {
			t.Errorf("%s on %s = %v, want %v", tc.c, tc.s, got, tc.want)
		}
	}
}

func TestParseGrants(t *testing.T) {
	gs, err := build.ParseGrants("JOBS:RW builds.sr.ht/LOGS:RO,secrets")
	if err != nil {
		t.Fatal(err)
	}
	if got := build.FormatGrants(gs); got != "JOBS:RW LOGS:RO SECRETS:RW" {
		t.Errorf("grants = %q", got)
	}
	tok := &build.Token{Grants: gs}
	if !tok.Allows(build.ScopeLogs, false) || tok.Allows(build.ScopeLogs, true) || tok.Allows(build.ScopeProfile, false) {
		t.Errorf("Allows is wrong for %q", build.FormatGrants(gs))
	}
	all, _ := build.ParseGrants("")
	if len(all) != len(build.AllScopes) {
		t.Errorf("empty grants = %v, want every scope", all)
	}
	for _, bad := range []string{"JOBS:XX", "BUILDS", "jobs:rw:x"} {
		if _, err := build.ParseGrants(bad); build.ErrorCode(err) != build.EINVALID {
			t.Errorf("ParseGrants(%q) = %v, want EINVALID", bad, err)
		}
	}
}

func TestErrors(t *testing.T) {
	inner := build.Errorf(build.ENOTFOUND, "no job %d", 7)
	wrapped := fmt.Errorf("load job: %w", inner)
	if build.ErrorCode(wrapped) != build.ENOTFOUND || build.ErrorMessage(wrapped) != "no job 7" {
		t.Errorf("wrapped: %q %q", build.ErrorCode(wrapped), build.ErrorMessage(wrapped))
	}
	plain := errors.New("disk on fire")
	if build.ErrorCode(plain) != build.EINTERNAL || build.ErrorMessage(plain) != "internal error" {
		t.Errorf("plain error leaks: %q", build.ErrorMessage(plain))
	}
	if build.ErrorCode(nil) != "" || build.ErrorMessage(nil) != "" {
		t.Error("nil error has a code")
	}
}

func TestVisibility(t *testing.T) {
	j := &build.Job{OwnerID: 1, Visibility: build.Private}
	if !j.VisibleTo(1) || j.VisibleTo(2) || j.VisibleTo(0) {
		t.Error("private job visibility")
	}
	j.Visibility = build.Unlisted
	if !j.VisibleTo(0) || !j.VisibleTo(2) {
		t.Error("unlisted job visibility")
	}
	if build.Visibility("SECRET").Valid() {
		t.Error("unknown visibility valid")
	}
}
