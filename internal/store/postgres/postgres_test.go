package postgres_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"builds/internal/build"
	"builds/internal/secretbox"
	"builds/internal/store"
	"builds/internal/store/postgres"
	"builds/internal/store/storetest"
	"builds/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// open returns a migrated store on a fresh database, and its connection
// string.
func open(t testing.TB, conn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), conn, secretbox.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, testenv.Postgres(t))
	})
}

func TestSecretEncryptedAtRest(t *testing.T) {
	conn := testenv.Postgres(t)
	db := open(t, conn)
	ctx := t.Context()
	u := &build.User{Name: "alice"}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	plain := []byte("-----BEGIN OPENSSH PRIVATE KEY----- very secret")
	s := &build.Secret{OwnerID: u.ID, Kind: build.SecretSSHKey, Data: plain}
	if err := db.CreateSecret(ctx, s); err != nil {
		t.Fatal(err)
	}
	raw, err := pgx.Connect(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close(ctx)
	var data []byte
	if err := raw.QueryRow(ctx, `SELECT data FROM secrets WHERE uuid = $1`, s.UUID).Scan(&data); err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || bytes.Contains(data, plain) || bytes.Contains(data, []byte("very secret")) {
		t.Fatalf("data column holds the plaintext: %q", data)
	}
}

func TestMigrateTwice(t *testing.T) {
	db := open(t, testenv.Postgres(t))
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
}

// TestSurvivesRestart restarts the server under an open store: the store
// must work again without being reopened.
func TestSurvivesRestart(t *testing.T) {
	srv := testenv.StartPostgres(t)
	db := open(t, srv.CreateDB(t))
	ctx := t.Context()
	u := &build.User{Name: "alice"}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	srv.Restart(t)
	// Connections idle for over a second are checked before use; wait so
	// that the pool notices the old ones died rather than failing a call.
	time.Sleep(1100 * time.Millisecond)
	j := &build.Job{OwnerID: u.ID, Status: build.JobQueued, Visibility: build.Public, Tasks: []build.Task{{Name: "a"}}}
	if err := db.CreateJob(ctx, j); err != nil {
		t.Fatalf("CreateJob after restart: %v", err)
	}
	if _, err := db.Job(ctx, j.ID); err != nil {
		t.Fatalf("Job after restart: %v", err)
	}
	srv.Stop(t)
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := db.UserByID(short, u.ID); err == nil {
		t.Fatal("UserByID succeeded with the server stopped")
	}
	srv.Start(t)
	time.Sleep(1100 * time.Millisecond)
	if _, err := db.UserByID(ctx, u.ID); err != nil {
		t.Fatalf("UserByID after the server came back: %v", err)
	}
}

func BenchmarkCreateJob(b *testing.B) {
	db := open(b, testenv.Postgres(b))
	storetest.BenchCreateJob(b, db)
}

func BenchmarkListJobs(b *testing.B) {
	conn := testenv.Postgres(b)
	db := open(b, conn)
	storetest.BenchListJobs(b, db, func(b *testing.B, ownerID int64, n int) { seed(b, conn, ownerID, n) })
}

// seed bulk-loads jobs with COPY, then their tasks with one INSERT.
func seed(b *testing.B, conn string, ownerID int64, n int) {
	ctx := b.Context()
	c, err := pgx.Connect(ctx, conn)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	now := store.Now()
	rows := make([][]any, n)
	for i := range rows {
		tag, status := storetest.SeedJob(i)
		rows[i] = []any{now, now, ownerID, "image: debian/stable", strings.Split(tag, "/"), tag,
			"PUBLIC", string(status), "debian/stable", "amd64"}
	}
	cols := []string{"created", "updated", "owner_id", "manifest", "tags", "tag_path", "visibility", "status", "image", "arch"}
	if _, err := c.CopyFrom(ctx, pgx.Identifier{"jobs"}, cols, pgx.CopyFromRows(rows)); err != nil {
		b.Fatal(err)
	}
	_, err = c.Exec(ctx, `INSERT INTO tasks (job_id, created, updated, name, status)
		SELECT j.id, j.created, j.created, t.name, 'success' FROM jobs j, unnest('{build,test}'::text[]) AS t(name)
		ORDER BY j.id, t.name`)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
}
