package main

import (
	"context"
	"fmt"

	"builds/internal/config"
	"builds/internal/store"
	"builds/internal/store/sqlite"
)

// openStore opens the configured database and brings its tables up to
// date, so that operator commands work on a fresh data directory before
// serve has ever run. PostgreSQL is not wired here yet.
func openStore(ctx context.Context, c *config.Config) (store.Store, error) {
	if c.ConnectionString != "" {
		return nil, fmt.Errorf("open store: PostgreSQL (connection-string) is not supported by this command yet")
	}
	key, err := secretsKey(c)
	if err != nil {
		return nil, err
	}
	db, err := sqlite.Open(ctx, c.SQLitePath(), key)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
