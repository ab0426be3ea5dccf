package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"builds/internal/build"
	"builds/internal/secretbox"
	"builds/internal/store"
	"builds/internal/store/sqlite"
	"builds/internal/store/storetest"
)

// open returns a migrated store in a fresh file and the file's path.
func open(t testing.TB) (*sqlite.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "builds.db")
	db, err := sqlite.Open(t.Context(), path, secretbox.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db, path
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db, _ := open(t)
		return db
	})
}

func TestSecretEncryptedAtRest(t *testing.T) {
	db, path := open(t)
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
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var data []byte
	if err := raw.QueryRowContext(ctx, `SELECT data FROM secrets WHERE uuid = ?`, s.UUID).Scan(&data); err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || bytes.Contains(data, plain) || bytes.Contains(data, []byte("very secret")) {
		t.Fatalf("data column holds the plaintext: %q", data)
	}
}

func TestWrongKey(t *testing.T) {
	db, path := open(t)
	ctx := t.Context()
	u := &build.User{Name: "alice"}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	s := &build.Secret{OwnerID: u.ID, Kind: build.SecretPGPKey, Data: []byte("k")}
	if err := db.CreateSecret(ctx, s); err != nil {
		t.Fatal(err)
	}
	other, err := sqlite.Open(ctx, path, secretbox.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Secret(ctx, s.UUID); err == nil {
		t.Fatal("a store with another key decrypted the secret")
	}
}

func TestOpenRefusesShortKey(t *testing.T) {
	_, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "x.db"), []byte("short"))
	if err == nil {
		t.Fatal("Open accepted a 5-byte key")
	}
}

func TestMigrateTwice(t *testing.T) {
	db, _ := open(t)
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
}

func BenchmarkCreateJob(b *testing.B) {
	db, _ := open(b)
	storetest.BenchCreateJob(b, db)
}

func BenchmarkListJobs(b *testing.B) {
	db, path := open(b)
	storetest.BenchListJobs(b, db, func(b *testing.B, ownerID int64, n int) { seed(b, path, ownerID, n) })
}

// seed bulk-inserts jobs straight into the file, in one transaction.
func seed(b *testing.B, path string, ownerID int64, n int) {
	raw, err := sql.Open("sqlite", path+"?_busy_timeout=10000")
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	tx, err := raw.BeginTx(b.Context(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	job, err := tx.PrepareContext(b.Context(), `INSERT INTO jobs (created, updated, owner_id, manifest, tags, tag_path,
		visibility, status, image, arch) VALUES (?, ?, ?, 'image: debian/stable', ?, ?, 'PUBLIC', ?, 'debian/stable', 'amd64')
		RETURNING id`)
	if err != nil {
		b.Fatal(err)
	}
	task, err := tx.PrepareContext(b.Context(), `INSERT INTO tasks (job_id, created, updated, name, status) VALUES (?, ?, ?, ?, 'success')`)
	if err != nil {
		b.Fatal(err)
	}
	now := store.Now().UnixMicro()
	for i := range n {
		tag, status := storetest.SeedJob(i)
		var id int64
		tags := `["` + strings.ReplaceAll(tag, "/", `","`) + `"]`
		if err := job.QueryRowContext(b.Context(), now, now, ownerID, tags, tag, status).Scan(&id); err != nil {
			b.Fatal(err)
		}
		for _, name := range []string{"build", "test"} {
			if _, err := task.ExecContext(b.Context(), id, now, now, name); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

func TestWriteAfterCloseFails(t *testing.T) {
	db, _ := open(t)
	db.Close()
	if err := db.CreateUser(t.Context(), &build.User{Name: "late"}); err == nil {
		t.Fatal("CreateUser after Close succeeded")
	}
}

func TestCancelledWriteDoesNotRun(t *testing.T) {
	db, _ := open(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := db.CreateUser(ctx, &build.User{Name: "never"}); err == nil {
		t.Fatal("CreateUser with a cancelled context succeeded")
	}
	if _, err := db.UserByName(t.Context(), "never"); build.ErrorCode(err) != build.ENOTFOUND {
		t.Fatalf("cancelled write was stored: %v", err)
	}
}
