package storetest

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"builds/internal/build"
	"builds/internal/store"
)

func testGroups(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "alice")
	j1, j2 := mkJob(t, s, u, withStatus(build.JobPending)), mkJob(t, s, u, withStatus(build.JobPending))
	outside := mkJob(t, s, u)
	g := &build.Group{
		OwnerID: u.ID, Note: "release",
		JobIDs: []int64{j2.ID, j1.ID, j2.ID},
		Triggers: []build.Trigger{
			{Action: build.TriggerEmail, Condition: build.OnFailure, To: "a@example.org", Cc: "b@example.org", InReplyTo: "<m@x>"},
			{Action: build.TriggerWebhook, Condition: build.OnAlways, URL: "http://127.0.0.1:1/hook"},
		},
	}
	must(t, s.CreateGroup(ctx, g), "CreateGroup")
	if g.ID == 0 || g.Created.IsZero() {
		t.Fatalf("CreateGroup did not fill ID, Created: %+v", g)
	}
	got, err := s.Group(ctx, g.ID)
	must(t, err, "Group")
	want := *g
	want.JobIDs = []int64{j1.ID, j2.ID}
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("Group (-want +got):\n%s", diff)
	}
	for _, id := range []int64{j1.ID, j2.ID} {
		j, err := s.Job(ctx, id)
		must(t, err, "Job")
		if j.GroupID != g.ID {
			t.Errorf("job %d GroupID = %d, want %d", id, j.GroupID, g.ID)
		}
	}
	j, err := s.Job(ctx, outside.ID)
	must(t, err, "Job")
	if j.GroupID != 0 {
		t.Errorf("job outside the group has GroupID %d", j.GroupID)
	}
}

func testGroupRefusals(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice, bob := mkUser(t, s, "alice"), mkUser(t, s, "bob")
	a1, a2 := mkJob(t, s, alice), mkJob(t, s, alice)
	b1 := mkJob(t, s, bob)
	must(t, s.CreateGroup(ctx, &build.Group{OwnerID: alice.ID, JobIDs: []int64{a1.ID}}), "CreateGroup")
	cases := []struct {
		name string
		g    *build.Group
		code string
	}{
		{"empty", &build.Group{OwnerID: alice.ID}, build.EINVALID},
		{"already grouped", &build.Group{OwnerID: alice.ID, JobIDs: []int64{a2.ID, a1.ID}}, build.ECONFLICT},
		{"someone else's job", &build.Group{OwnerID: alice.ID, JobIDs: []int64{a2.ID, b1.ID}}, build.ENOTFOUND},
		{"unknown job", &build.Group{OwnerID: alice.ID, JobIDs: []int64{a2.ID, 1 << 40}}, build.ENOTFOUND},
	}
	for _, c := range cases {
		wantCode(t, s.CreateGroup(ctx, c.g), c.code, c.name)
	}
	j, err := s.Job(ctx, a2.ID)
	must(t, err, "Job")
	if j.GroupID != 0 {
		t.Errorf("refused group still claimed job %d (GroupID %d)", a2.ID, j.GroupID)
	}
	_, err = s.Group(ctx, 1<<40)
	wantCode(t, err, build.ENOTFOUND, "unknown group")
}

func testGroupClaim(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "alice")
	g := &build.Group{OwnerID: u.ID, JobIDs: []int64{mkJob(t, s, u).ID}}
	must(t, s.CreateGroup(ctx, g), "CreateGroup")
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			first, err := s.ClaimGroupTriggers(ctx, g.ID)
			if err != nil {
				t.Errorf("ClaimGroupTriggers: %v", err)
			}
			if first {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Errorf("%d callers claimed the group's triggers, want exactly 1", n)
	}
	first, err := s.ClaimGroupTriggers(ctx, g.ID)
	if err != nil || first {
		t.Errorf("later claim = %v, %v; want false, nil", first, err)
	}
	_, err = s.ClaimGroupTriggers(ctx, 1<<40)
	wantCode(t, err, build.ENOTFOUND, "claim unknown group")
	got, err := s.Group(ctx, g.ID)
	must(t, err, "Group")
	if !slices.Equal(got.JobIDs, g.JobIDs) || got.Triggers != nil {
		t.Errorf("Group = %+v", got)
	}
}
