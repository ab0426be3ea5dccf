package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Migrations are versioned SQL files embedded in the binary and applied
// with goose: plain SQL per dialect (this package holds PostgreSQL's, the
// sqlite package its own), one library for both databases, a version table
// so each file runs once, and no code generation or global state (the
// Provider API).
//
//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates or upgrades the tables to the newest version. It is safe
// to run on an up-to-date database, and concurrent runs from several
// processes wait for each other on an advisory lock.
func (d *DB) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate postgres: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("migrate postgres: %w", err)
	}
	db := stdlib.OpenDBFromPool(d.pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrate postgres: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate postgres: %w", err)
	}
	return nil
}
