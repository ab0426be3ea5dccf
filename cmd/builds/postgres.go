package main

import (
	"context"
	"errors"

	"builds/internal/store"
)

// openPostgres is replaced once the PostgreSQL store is wired.
func openPostgres(ctx context.Context, conn string, key []byte) (interface {
	store.Store
	migrator
}, error) {
	return nil, errors.New("PostgreSQL is not available in this build; remove [builds.sr.ht] connection-string to use SQLite")
}
