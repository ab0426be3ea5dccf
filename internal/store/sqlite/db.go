// Package sqlite implements store.Store on an embedded SQLite database with
// the pure-Go driver modernc.org/sqlite, so the single-host default needs
// no cgo and no server.
//
// Writes are queued in Go and run by one goroutine, several at a time in
// one transaction when several are waiting (group commit; see write.go).
// SQLite admits one writer at a time anyway; queueing writers in Go instead
// of letting them contend for the file lock (and sleep in the busy handler),
// and paying for one commit per group, is what makes writes fast. Reads use a separate pool of read-only
// connections, which WAL mode lets run alongside the writer. Every
// statement runs prepared (see stmtCache).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"sync"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"builds/internal/build"
	"builds/internal/secretbox"
	"builds/internal/store"
)

var _ store.Store = (*DB)(nil)

// DB is a SQLite store. It is safe for concurrent use, and several
// processes may open the same file (the busy timeout serialises them).
type DB struct {
	w         *sql.DB        // writer connections: one in a transaction, one preparing
	writes    chan *writeReq // to the writer goroutine
	quit      chan struct{}  // closed by Close
	done      chan struct{}  // closed when the writer goroutine has returned
	closeOnce sync.Once
	r         *sql.DB // read-only connections
	wstmts    *stmtCache
	rq        cached // reads, through prepared statements
	box       *secretbox.Box
}

// Open opens (creating if needed) the database file at path. key is the
// 32-byte key that encrypts secrets at rest. Open does not create or
// upgrade tables: call Migrate once after Open (the serve command does), so
// that a tool opening the database never changes its schema by surprise.
// path must name a file; ":memory:" would give every connection its own
// empty database.
func Open(ctx context.Context, path string, key []byte) (*DB, error) {
	box, err := secretbox.New(key)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	d := &DB{box: box, writes: make(chan *writeReq), quit: make(chan struct{}), done: make(chan struct{})}
	if d.w, err = openPool(ctx, path, false); err != nil {
		return nil, err
	}
	if d.r, err = openPool(ctx, path, true); err != nil {
		d.w.Close()
		return nil, err
	}
	d.wstmts = newStmtCache(d.w)
	d.rq = cached{c: newStmtCache(d.r)}
	go d.writer()
	return d, nil
}

func openPool(ctx context.Context, path string, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_journal_mode", "WAL")
	// NORMAL in WAL mode syncs at checkpoints, not at every commit: a
	// power cut may lose the last transactions but never corrupts the file.
	q.Set("_synchronous", "NORMAL")
	q.Set("_foreign_keys", "1")
	q.Set("_txlock", "immediate")
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", "cache_size(-16000)")
	if readOnly {
		q.Set("_query_only", "1")
	}
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// The writer pool has two connections: the one in the (single) write
	// transaction, and one to prepare a statement the transaction needs
	// for the first time.
	n := 2
	if readOnly {
		n = max(4, runtime.GOMAXPROCS(0))
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, nil
}

// Close stops the writer, after the writes it already took, and closes
// both pools. Writes after Close fail; closing twice is harmless.
func (d *DB) Close() error {
	d.closeOnce.Do(func() { close(d.quit) })
	<-d.done
	return errors.Join(d.rq.c.close(), d.wstmts.close(), d.r.Close(), d.w.Close())
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.r.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	return nil
}

// translate turns driver errors into domain errors; what names the thing
// for the user ("job 42", "secret \"deploy\"").
func translate(err error, what string) error {
	var se *sqlite.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return build.Errorf(build.ENOTFOUND, "%s not found", what)
	case errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY):
		return build.Errorf(build.ECONFLICT, "%s already exists", what)
	case errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return build.Errorf(build.ENOTFOUND, "%s refers to a user or job that does not exist", what)
	}
	var be *build.Error
	if errors.As(err, &be) {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

// rowsAffected returns ENOTFOUND (as translate would) when res changed no
// row.
func rowsAffected(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return translate(sql.ErrNoRows, what)
	}
	return nil
}

// Times are stored as microseconds since the epoch; 0 is the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}
