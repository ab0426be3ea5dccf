// Package postgres implements store.Store on PostgreSQL with pgx's
// connection pool. The pool replaces connections that broke, so the store
// keeps working across a server restart: calls in flight during the
// restart fail, later ones succeed.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"builds/internal/build"
	"builds/internal/secretbox"
	"builds/internal/store"
)

var _ store.Store = (*DB)(nil)

// DB is a PostgreSQL store, safe for concurrent use.
type DB struct {
	pool *pgxpool.Pool
	box  *secretbox.Box
}

// Open connects to the database named by connString (a URL or key=value
// string, as libpq reads it). key is the 32-byte key that encrypts secrets
// at rest. Open does not create or upgrade tables: call Migrate once after
// Open (the serve command does).
func Open(ctx context.Context, connString string, key []byte) (*DB, error) {
	box, err := secretbox.New(key)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, build.Errorf(build.EINVALID, "postgres connection string: %v", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	return &DB{pool: pool, box: box}, nil
}

// Close closes every connection of the pool.
func (d *DB) Close() error {
	d.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

// tx runs fn in one transaction.
func (d *DB) tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, d.pool, fn)
}

// translate turns driver errors into domain errors; what names the thing
// for the user ("job 42", "secret \"deploy\"").
func translate(err error, what string) error {
	var pe *pgconn.PgError
	var be *build.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &be):
		return err
	case errors.Is(err, pgx.ErrNoRows):
		return build.Errorf(build.ENOTFOUND, "%s not found", what)
	case errors.As(err, &pe) && pe.Code == "23505": // unique_violation
		return build.Errorf(build.ECONFLICT, "%s already exists", what)
	case errors.As(err, &pe) && pe.Code == "23503": // foreign_key_violation
		return build.Errorf(build.ENOTFOUND, "%s refers to a user or job that does not exist", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// affected returns ENOTFOUND (as translate would) when tag changed no row.
func affected(tag pgconn.CommandTag, err error, what string) error {
	if err != nil {
		return translate(err, what)
	}
	if tag.RowsAffected() == 0 {
		return translate(pgx.ErrNoRows, what)
	}
	return nil
}

// nullTime maps the zero time to NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// fromNull maps NULL to the zero time and anything else to UTC.
func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// list maps an empty list to nil, as the SQLite store reads it back.
func list(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
}
