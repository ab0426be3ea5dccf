package storetest

import (
	"fmt"
	"sync"
	"testing"

	"builds/internal/build"
	"builds/internal/store"
)

// testJobTransitions tries every (from, to) pair: the store must accept
// exactly the moves build.JobStatus.CanBecome allows, and leave the job
// untouched otherwise.
func testJobTransitions(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "alice")
	for _, from := range build.JobStatuses {
		for _, to := range build.JobStatuses {
			j := mkJob(t, s, u, withStatus(build.JobPending))
			setStatus(t, s, j, from)
			got, err := s.SetJobStatus(ctx, j.ID, to, "")
			what := fmt.Sprintf("%s -> %s", from, to)
			if from.CanBecome(to) {
				must(t, err, what)
				if got.Status != to || got.ID != j.ID || got.Updated.Before(j.Created) {
					t.Errorf("%s: returned job %+v", what, got)
				}
				continue
			}
			wantCode(t, err, build.ECONFLICT, what)
			stored, err := s.Job(ctx, j.ID)
			must(t, err, "Job")
			if stored.Status != from {
				t.Errorf("%s refused but status is now %s", what, stored.Status)
			}
		}
	}
	_, err := s.SetJobStatus(ctx, 1<<40, build.JobRunning, "")
	wantCode(t, err, build.ENOTFOUND, "unknown job")
	j := mkJob(t, s, u)
	_, err = s.SetJobStatus(ctx, j.ID, "exploded", "")
	wantCode(t, err, build.EINVALID, "unknown status")
}

func testJobRunner(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "alice")
	j := mkJob(t, s, u)
	got, err := s.SetJobStatus(ctx, j.ID, build.JobRunning, "runner-1:8080")
	must(t, err, "SetJobStatus running")
	if got.Runner != "runner-1:8080" {
		t.Errorf("Runner = %q, want runner-1:8080", got.Runner)
	}
	got, err = s.SetJobStatus(ctx, j.ID, build.JobSuccess, "")
	must(t, err, "SetJobStatus success")
	if got.Runner != "runner-1:8080" || got.Status != build.JobSuccess {
		t.Errorf("after success: runner %q status %s; runner must be kept", got.Runner, got.Status)
	}
	stored, err := s.Job(ctx, j.ID)
	must(t, err, "Job")
	if stored.Runner != "runner-1:8080" || stored.Status != build.JobSuccess {
		t.Errorf("stored runner %q status %s", stored.Runner, stored.Status)
	}
}

func testTaskTransitions(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "alice")
	reach := map[build.TaskStatus][]build.TaskStatus{
		build.TaskPending: nil,
		build.TaskRunning: {build.TaskRunning},
		build.TaskSuccess: {build.TaskRunning, build.TaskSuccess},
		build.TaskFailed:  {build.TaskRunning, build.TaskFailed},
		build.TaskSkipped: {build.TaskSkipped},
	}
	for _, from := range build.TaskStatuses {
		for _, to := range build.TaskStatuses {
			j := mkJob(t, s, u, withTasks("setup", "test"))
			for _, st := range reach[from] {
				must(t, s.SetTaskStatus(ctx, j.ID, "test", st), fmt.Sprintf("reach %s", from))
			}
			err := s.SetTaskStatus(ctx, j.ID, "test", to)
			what := fmt.Sprintf("task %s -> %s", from, to)
			if from.CanBecome(to) {
				must(t, err, what)
				checkTask(t, s, j.ID, "test", to, what)
			} else {
				wantCode(t, err, build.ECONFLICT, what)
				checkTask(t, s, j.ID, "test", from, what)
			}
			checkTask(t, s, j.ID, "setup", build.TaskPending, what+" (other task)")
		}
	}
	j := mkJob(t, s, u, withTasks("a"))
	wantCode(t, s.SetTaskStatus(ctx, j.ID, "b", build.TaskRunning), build.ENOTFOUND, "unknown task")
	wantCode(t, s.SetTaskStatus(ctx, 1<<40, "a", build.TaskRunning), build.ENOTFOUND, "unknown job")
	wantCode(t, s.SetTaskStatus(ctx, j.ID, "a", "bogus"), build.EINVALID, "unknown status")
}

func checkTask(t *testing.T, s store.Store, jobID int64, name string, want build.TaskStatus, what string) {
	t.Helper()
	j, err := s.Job(t.Context(), jobID)
	must(t, err, "Job")
	if task := j.Task(name); task == nil || task.Status != want {
		t.Errorf("%s: task %q is %+v, want status %s", what, name, task, want)
	}
}

// testRaceToRun has several runners take the same queued job at once:
// exactly one may win, every other one gets ECONFLICT.
func testRaceToRun(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "alice")
	const rounds, racers = 10, 6
	for range rounds {
		j := mkJob(t, s, u)
		var wg sync.WaitGroup
		errs := make([]error, racers)
		for i := range racers {
			wg.Go(func() {
				_, errs[i] = s.SetJobStatus(ctx, j.ID, build.JobRunning, fmt.Sprintf("runner-%d", i))
			})
		}
		wg.Wait()
		winners := 0
		winner := ""
		for i, err := range errs {
			if err == nil {
				winners++
				winner = fmt.Sprintf("runner-%d", i)
				continue
			}
			wantCode(t, err, build.ECONFLICT, "losing racer")
		}
		if winners != 1 {
			t.Fatalf("%d racers set the job running, want exactly 1", winners)
		}
		got, err := s.Job(ctx, j.ID)
		must(t, err, "Job")
		if got.Runner != winner {
			t.Errorf("Runner = %q, want the winner %q", got.Runner, winner)
		}
	}
}
