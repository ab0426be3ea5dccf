package postgres_test

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"builds/internal/build"
	"builds/internal/store"
	"builds/internal/store/postgres"
	"builds/internal/testenv"
)

// othersPublic is a store where alice has planJobs jobs of which one in
// a hundred is public, and bob as many, all public; the statistics are
// fresh, as autovacuum keeps them on a live server.
type othersPublic struct {
	db    *postgres.DB
	conn  *pgx.Conn
	alice int64
}

const planJobs = 50_000

func newOthersPublic(tb testing.TB) *othersPublic {
	tb.Helper()
	connString := testenv.Postgres(tb)
	db := open(tb, connString)
	ctx := tb.Context()
	c, err := pgx.Connect(ctx, connString)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close(ctx) })
	var ids [2]int64
	for i, name := range []string{"alice", "bob"} {
		u := &build.User{Name: name}
		if err := db.CreateUser(ctx, u); err != nil {
			tb.Fatal(err)
		}
		ids[i] = u.ID
	}
	now := store.Now()
	rows := make([][]any, 0, 2*planJobs)
	for i := range planJobs {
		vis := "UNLISTED"
		if i%100 == 0 {
			vis = "PUBLIC"
		}
		rows = append(rows, []any{now, now, ids[0], "image: debian/stable", vis, "success"},
			[]any{now, now, ids[1], "image: debian/stable", "PUBLIC", "success"})
	}
	cols := []string{"created", "updated", "owner_id", "manifest", "visibility", "status"}
	if _, err := c.CopyFrom(ctx, pgx.Identifier{"jobs"}, cols, pgx.CopyFromRows(rows)); err != nil {
		tb.Fatal(err)
	}
	if _, err := c.Exec(ctx, `ANALYZE`); err != nil {
		tb.Fatal(err)
	}
	return &othersPublic{db: db, conn: c, alice: ids[0]}
}

func (e *othersPublic) filter(before int64) store.JobFilter {
	return store.JobFilter{OwnerID: e.alice, Visibility: []build.Visibility{build.Public}, Before: before}
}

// TestOthersPublicJobsPlan checks that listing someone else's public jobs
// reads them from an index in order, without sorting all of them, on the
// first page and deep in the list.
func TestOthersPublicJobsPlan(t *testing.T) {
	e := newOthersPublic(t)
	ctx := t.Context()
	first, next, err := e.db.ListJobs(ctx, e.filter(0))
	if err != nil || len(first) != 20 || next == 0 {
		t.Fatalf("first page: %d jobs, next %d, err %v", len(first), next, err)
	}
	for i, j := range first {
		if j.OwnerID != e.alice || j.Visibility != build.Public || (i > 0 && j.ID >= first[i-1].ID) {
			t.Fatalf("job %d of the page: #%d owner %d %s, after #%d", i, j.ID, j.OwnerID, j.Visibility, first[max(i-1, 0)].ID)
		}
	}
	for _, before := range []int64{0, next, first[0].ID - planJobs} {
		q, args := postgres.ListJobsQuery(e.filter(before), 21)
		plan := explain(t, e.conn, q, args...)
		if !strings.Contains(plan, "Backward using jobs_owner_visibility") || strings.Contains(plan, "Sort") {
			t.Errorf("before %d: the listing does not read the (owner, visibility, id) index in order:\n%s", before, plan)
		}
	}
}

func explain(t *testing.T, c *pgx.Conn, q string, args ...any) string {
	t.Helper()
	rows, err := c.Query(t.Context(), "EXPLAIN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// BenchmarkListOthersPublicJobs lists the public jobs of an owner whose
// other jobs far outnumber them: the first page and one deep in the list.
func BenchmarkListOthersPublicJobs(b *testing.B) {
	e := newOthersPublic(b)
	first, _, err := e.db.ListJobs(b.Context(), e.filter(0))
	if err != nil || len(first) == 0 {
		b.Fatalf("first page: %v", err)
	}
	for name, before := range map[string]int64{"first": 0, "deep": first[0].ID - planJobs} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if jobs, _, err := e.db.ListJobs(b.Context(), e.filter(before)); err != nil || len(jobs) != 20 {
					b.Fatalf("%d jobs, %v", len(jobs), err)
				}
			}
		})
	}
}
