package storeutil_test

import (
	"slices"
	"testing"

	"builds/internal/build"
	"builds/internal/store/internal/storeutil"
)

func TestLimit(t *testing.T) {
	for in, want := range map[int]int{-1: 20, 0: 20, 1: 1, 100: 100, 101: 100, 5000: 100} {
		if got := storeutil.Limit(in); got != want {
			t.Errorf("Limit(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestSources(t *testing.T) {
	jobs := map[build.JobStatus][]string{
		build.JobPending:   nil,
		build.JobQueued:    {"pending", "queued"},
		build.JobRunning:   {"queued"},
		build.JobSuccess:   {"running"},
		build.JobFailed:    {"queued", "running"},
		build.JobCancelled: {"pending", "queued", "running"},
	}
	for to, want := range jobs {
		if got := storeutil.JobSources(to); !slices.Equal(got, want) {
			t.Errorf("JobSources(%s) = %v, want %v", to, got, want)
		}
	}
	if got := storeutil.TaskSources(build.TaskSkipped); !slices.Equal(got, []string{"pending"}) {
		t.Errorf("TaskSources(skipped) = %v, want [pending]", got)
	}
}

func TestCheckJobDefaultsTaskStatus(t *testing.T) {
	j := &build.Job{Status: build.JobQueued, Visibility: build.Public, Tasks: []build.Task{{Name: "a"}}}
	if err := storeutil.CheckJob(j); err != nil {
		t.Fatal(err)
	}
	if j.Tasks[0].Status != build.TaskPending {
		t.Errorf("task status = %q, want pending", j.Tasks[0].Status)
	}
}
