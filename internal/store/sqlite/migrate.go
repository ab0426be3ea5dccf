package sqlite

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// Migrations are versioned SQL files embedded in the binary and applied
// with goose: plain SQL per dialect (this package holds SQLite's, the
// postgres package its own), one library for both databases, a version
// table so each file runs once, and no code generation or global state
// (the Provider API).
//
//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates or upgrades the tables to the newest version. It is
// safe to run on an up-to-date database, and concurrent runs from several
// processes are serialised by SQLite's write lock.
func (d *DB) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate sqlite: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, d.w, sub, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrate sqlite: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate sqlite: %w", err)
	}
	return nil
}
