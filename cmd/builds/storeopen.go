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
// serve has ever run.
func openStore(ctx context.Context, c *config.Config) (store.Store, error) {
	return openStoreFor(ctx, c, true)
}

// migrator is implemented by both stores.
type migrator interface {
	Migrate(ctx context.Context) error
}

// openStoreFor opens the database named by connection-string (PostgreSQL)
// or the embedded SQLite file, applying migrations when migrate is true.
func openStoreFor(ctx context.Context, c *config.Config, migrate bool) (store.Store, error) {
	key, err := secretsKey(c)
	if err != nil {
		return nil, err
	}
	var st interface {
		store.Store
		migrator
	}
	if c.ConnectionString != "" {
		st, err = openPostgres(ctx, c.ConnectionString, key)
	} else {
		st, err = sqlite.Open(ctx, c.SQLitePath(), key)
	}
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if migrate {
		if err := st.Migrate(ctx); err != nil {
			st.Close()
			return nil, fmt.Errorf("migrate database: %w", err)
		}
	}
	return st, nil
}
