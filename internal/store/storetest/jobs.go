package storetest

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"builds/internal/build"
	"builds/internal/store"
)

func testCreateJob(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "alice")
	j := &build.Job{
		OwnerID: u.ID, Manifest: "image: alpine/edge\n", Note: "first build",
		Tags: []string{"repo", "main"}, Visibility: build.Unlisted, Status: build.JobPending,
		Image: "alpine/edge", Arch: "amd64", Secrets: true,
		Tasks: []build.Task{{Name: "setup"}, {Name: "test"}, {Name: "deploy"}},
	}
	must(t, s.CreateJob(ctx, j), "CreateJob")
	if j.ID == 0 || j.Created.IsZero() || !j.Updated.Equal(j.Created) || j.Owner != "alice" {
		t.Fatalf("CreateJob did not fill ID, Created, Updated, Owner: %+v", j)
	}
	ids := map[int64]bool{}
	for _, task := range j.Tasks {
		if task.ID == 0 || task.JobID != j.ID || task.Status != build.TaskPending || task.Created.IsZero() {
			t.Errorf("task not filled in: %+v", task)
		}
		ids[task.ID] = true
	}
	if len(ids) != 3 {
		t.Errorf("task IDs not distinct: %v", ids)
	}
	got, err := s.Job(ctx, j.ID)
	must(t, err, "Job")
	if diff := cmp.Diff(j, got); diff != "" {
		t.Errorf("Job (-want +got):\n%s", diff)
	}
	if got.Task("test") == nil || got.Tasks[2].Name != "deploy" {
		t.Errorf("tasks not in manifest order: %+v", got.Tasks)
	}
	bare := mkJob(t, s, u)
	got, err = s.Job(ctx, bare.ID)
	must(t, err, "Job without tasks")
	if got.Tags != nil || got.Tasks != nil || got.GroupID != 0 || got.Runner != "" {
		t.Errorf("bare job read back as %+v", got)
	}
}

func testCreateJobInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "alice")
	cases := map[string]*build.Job{
		"bad status":     {OwnerID: u.ID, Status: "bogus", Visibility: build.Public},
		"bad visibility": {OwnerID: u.ID, Status: build.JobQueued, Visibility: "public"},
		"duplicate task": {OwnerID: u.ID, Status: build.JobQueued, Visibility: build.Public,
			Tasks: []build.Task{{Name: "a"}, {Name: "a"}}},
	}
	for name, j := range cases {
		wantCode(t, s.CreateJob(ctx, j), build.EINVALID, name)
	}
	j := &build.Job{OwnerID: u.ID + 1000, Status: build.JobQueued, Visibility: build.Public}
	wantCode(t, s.CreateJob(ctx, j), build.ENOTFOUND, "unknown owner")
	if got, _ := listIDs(t, s, store.JobFilter{}); len(got) != 0 {
		t.Errorf("refused jobs were stored: %v", got)
	}
}

// listIDs returns the IDs ListJobs returns for f, and the cursor.
func listIDs(t *testing.T, s store.Store, f store.JobFilter) ([]int64, int64) {
	t.Helper()
	jobs, next, err := s.ListJobs(t.Context(), f)
	must(t, err, "ListJobs")
	var ids []int64
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	return ids, next
}

func ids(jobs ...*build.Job) []int64 {
	var out []int64
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	slices.Reverse(out) // newest first
	return out
}

func testListJobsFilters(t *testing.T, s store.Store) {
	alice, bob := mkUser(t, s, "alice"), mkUser(t, s, "bob")
	a1 := mkJob(t, s, alice, withTasks("build"))
	a2 := mkJob(t, s, alice, withVis(build.Private), withStatus(build.JobPending))
	b1 := mkJob(t, s, bob, withVis(build.Unlisted))
	a3 := mkJob(t, s, alice, withTasks("x", "y"))
	setStatus(t, s, a3, build.JobRunning)

	cases := []struct {
		name string
		f    store.JobFilter
		want []int64
	}{
		{"all", store.JobFilter{}, ids(a1, a2, b1, a3)},
		{"owner", store.JobFilter{OwnerID: alice.ID}, ids(a1, a2, a3)},
		{"status", store.JobFilter{Status: []build.JobStatus{build.JobQueued, build.JobPending}}, ids(a1, a2, b1)},
		{"visibility", store.JobFilter{Visibility: []build.Visibility{build.Public}}, ids(a1, a3)},
		{"owner+visibility", store.JobFilter{OwnerID: alice.ID, Visibility: []build.Visibility{build.Private, build.Unlisted}}, ids(a2)},
		{"before", store.JobFilter{Before: a3.ID}, ids(a1, a2, b1)},
		{"none", store.JobFilter{OwnerID: bob.ID, Status: []build.JobStatus{build.JobRunning}}, nil},
	}
	for _, c := range cases {
		got, next := listIDs(t, s, c.f)
		if !slices.Equal(got, c.want) || next != 0 {
			t.Errorf("%s: ListJobs = %v, cursor %d; want %v, 0", c.name, got, next, c.want)
		}
		if c.f.Before != 0 {
			continue // CountJobs ignores the cursor
		}
		if n, err := s.CountJobs(t.Context(), c.f); err != nil || n != int64(len(c.want)) {
			t.Errorf("%s: CountJobs = %d, %v; want %d", c.name, n, err, len(c.want))
		}
	}
	if n, err := s.CountJobs(t.Context(), store.JobFilter{Before: a1.ID, Limit: 1}); err != nil || n != 4 {
		t.Errorf("CountJobs with a cursor and limit = %d, %v; want all 4", n, err)
	}
	jobs, _, err := s.ListJobs(t.Context(), store.JobFilter{OwnerID: alice.ID})
	must(t, err, "ListJobs")
	if len(jobs[0].Tasks) != 2 || jobs[0].Tasks[1].Name != "y" || len(jobs[2].Tasks) != 1 || jobs[0].Owner != "alice" {
		t.Errorf("ListJobs did not load tasks and owner: %+v", jobs)
	}
}

// testListJobsSearch checks the image and note filters of the search box.
func testListJobsSearch(t *testing.T, s store.Store) {
	alice := mkUser(t, s, "alice")
	a := mkJob(t, s, alice, func(j *build.Job) { j.Note = "Release 1.2 of 100% Go"; j.Image = "alpine/edge" })
	b := mkJob(t, s, alice, func(j *build.Job) { j.Note = "nightly" })
	for _, c := range []struct {
		name string
		f    store.JobFilter
		want []int64
	}{
		{"image", store.JobFilter{Image: "alpine/edge"}, ids(a)},
		{"note", store.JobFilter{NoteContains: "RELEASE"}, ids(a)},
		{"note wildcard is literal", store.JobFilter{NoteContains: "0%"}, ids(a)},
		{"note underscore is literal", store.JobFilter{NoteContains: "n_ghtly"}, nil},
		{"note and image", store.JobFilter{NoteContains: "nightly", Image: "alpine/edge"}, nil},
		{"neither", store.JobFilter{OwnerID: alice.ID}, ids(a, b)},
	} {
		got, _ := listIDs(t, s, c.f)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: ListJobs = %v, want %v", c.name, got, c.want)
		}
	}
}

func testJobVisibility(t *testing.T, s store.Store) {
	alice := mkUser(t, s, "alice")
	j := mkJob(t, s, alice)
	must(t, s.SetJobVisibility(t.Context(), j.ID, build.Private), "SetJobVisibility")
	got, err := s.Job(t.Context(), j.ID)
	must(t, err, "Job")
	if got.Visibility != build.Private {
		t.Errorf("visibility = %s, want PRIVATE", got.Visibility)
	}
	wantCode(t, s.SetJobVisibility(t.Context(), j.ID, "SECRET"), build.EINVALID, "unknown visibility")
	wantCode(t, s.SetJobVisibility(t.Context(), 999999, build.Public), build.ENOTFOUND, "unknown job")
}

func testListJobsTags(t *testing.T, s store.Store) {
	u := mkUser(t, s, "alice")
	main := mkJob(t, s, u, withTags("repo", "main"))
	dev := mkJob(t, s, u, withTags("repo", "dev", "x"))
	repo := mkJob(t, s, u, withTags("repo"))
	other := mkJob(t, s, u, withTags("repository"))
	upper := mkJob(t, s, u, withTags("Repo"))
	mkJob(t, s, u)
	pct := mkJob(t, s, u, withTags("a%b"))
	cases := []struct {
		prefix []string
		want   []int64
	}{
		{[]string{"repo"}, ids(main, dev, repo)},
		{[]string{"repo", "main"}, ids(main)},
		{[]string{"repo", "dev"}, ids(dev)},
		{[]string{"repo", "de"}, nil},
		{[]string{"repository"}, ids(other)},
		{[]string{"Repo"}, ids(upper)},
		{[]string{"a%b"}, ids(pct)},
		{[]string{"a_b"}, nil},
	}
	for _, c := range cases {
		got, _ := listIDs(t, s, store.JobFilter{TagPrefix: c.prefix})
		if !slices.Equal(got, c.want) {
			t.Errorf("TagPrefix %q: ListJobs = %v, want %v", c.prefix, got, c.want)
		}
	}
	j, err := s.Job(t.Context(), dev.ID)
	must(t, err, "Job")
	if !slices.Equal(j.Tags, []string{"repo", "dev", "x"}) {
		t.Errorf("Tags = %q, want [repo dev x]", j.Tags)
	}
}

func testListJobsPages(t *testing.T, s store.Store) {
	u := mkUser(t, s, "alice")
	var all []*build.Job
	for range 45 {
		all = append(all, mkJob(t, s, u))
	}
	want := ids(all...)
	var got []int64
	f := store.JobFilter{OwnerID: u.ID, Limit: 20}
	for pages := 1; ; pages++ {
		page, next := listIDs(t, s, f)
		got = append(got, page...)
		if next == 0 {
			if pages != 3 {
				t.Errorf("read %d pages of 20 for 45 jobs, want 3", pages)
			}
			break
		}
		if pages > 3 {
			t.Fatalf("cursor never ends: %d pages", pages)
		}
		f.Before = next
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages = %v, want %v", got, want)
	}
	page, _ := listIDs(t, s, store.JobFilter{})
	if len(page) != 20 {
		t.Errorf("default page size = %d, want 20", len(page))
	}
	for range 60 {
		mkJob(t, s, u)
	}
	page, _ = listIDs(t, s, store.JobFilter{Limit: 1000})
	if len(page) != 100 {
		t.Errorf("page size for Limit 1000 = %d, want at most 100", len(page))
	}
	page, next := listIDs(t, s, store.JobFilter{Limit: 5, Before: want[len(want)-1] + 1})
	if len(page) != 1 || next != 0 {
		t.Errorf("last page = %v, cursor %d; want one job and 0", page, next)
	}
}

func testJobsByStatus(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "alice")
	q1 := mkJob(t, s, u)
	mkJob(t, s, u, withStatus(build.JobPending))
	q2 := mkJob(t, s, u)
	q3 := mkJob(t, s, u)
	setStatus(t, s, q2, build.JobRunning)
	got, err := s.JobsByStatus(ctx, build.JobQueued, 0)
	must(t, err, "JobsByStatus")
	if !slices.Equal(got, []int64{q1.ID, q3.ID}) {
		t.Errorf("JobsByStatus(queued) = %v, want [%d %d] (oldest first)", got, q1.ID, q3.ID)
	}
	got, err = s.JobsByStatus(ctx, build.JobQueued, 1)
	must(t, err, "JobsByStatus limit 1")
	if !slices.Equal(got, []int64{q1.ID}) {
		t.Errorf("JobsByStatus(queued, 1) = %v, want [%d]", got, q1.ID)
	}
	got, err = s.JobsByStatus(ctx, build.JobFailed, 0)
	if err != nil || len(got) != 0 {
		t.Errorf("JobsByStatus(failed) = %v, %v; want none", got, err)
	}
}
