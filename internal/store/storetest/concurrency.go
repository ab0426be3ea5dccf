package storetest

import (
	"fmt"
	"sync"
	"testing"

	"builds/internal/build"
	"builds/internal/store"
)

// testConcurrentWrites runs many writes at once, half of them doomed:
// every caller must get its own outcome, and a failing write must not take
// others down with it (stores may commit concurrent writes together).
func testConcurrentWrites(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 40
	var wg sync.WaitGroup
	users := make([]*build.User, n)
	errs := make([]error, n)
	for i := range n {
		users[i] = &build.User{Name: fmt.Sprintf("user%d", i%(n/2))}
		wg.Go(func() { errs[i] = s.CreateUser(ctx, users[i]) })
	}
	wg.Wait()
	created := map[string]int64{}
	for i, err := range errs {
		if err == nil {
			if _, dup := created[users[i].Name]; dup {
				t.Errorf("user %s created twice", users[i].Name)
			}
			created[users[i].Name] = users[i].ID
			continue
		}
		wantCode(t, err, build.ECONFLICT, "duplicate user "+users[i].Name)
	}
	if len(created) != n/2 {
		t.Fatalf("%d users created, want %d", len(created), n/2)
	}
	concurrentJobs(t, s, created)
}

// concurrentJobs creates jobs at once, every other one for an unknown
// owner.
func concurrentJobs(t *testing.T, s store.Store, created map[string]int64) {
	ctx := t.Context()
	n := 2 * len(created)
	var wg sync.WaitGroup
	errs := make([]error, n)
	jobs := make([]*build.Job, n)
	for i := range n {
		owner := created[fmt.Sprintf("user%d", i%(n/2))]
		if i%2 == 1 {
			owner = 1 << 40 // unknown: this job must fail alone
		}
		jobs[i] = &build.Job{OwnerID: owner, Status: build.JobQueued, Visibility: build.Public,
			Tasks: []build.Task{{Name: "a"}, {Name: "b"}}}
		wg.Go(func() { errs[i] = s.CreateJob(ctx, jobs[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		if i%2 == 1 {
			wantCode(t, err, build.ENOTFOUND, "job of an unknown owner")
			continue
		}
		must(t, err, "CreateJob")
		got, err := s.Job(ctx, jobs[i].ID)
		must(t, err, "Job")
		if len(got.Tasks) != 2 || got.Tasks[0].ID != jobs[i].Tasks[0].ID {
			t.Errorf("job %d read back with tasks %+v, created with %+v", got.ID, got.Tasks, jobs[i].Tasks)
		}
	}
	if ids, _ := listIDs(t, s, store.JobFilter{Limit: 100}); len(ids) != n/2 {
		t.Errorf("%d jobs stored, want %d", len(ids), n/2)
	}
}
