package main

import (
	"context"

	"builds/internal/store"
	"builds/internal/store/postgres"
)

// openPostgres opens the PostgreSQL store named by connection-string.
func openPostgres(ctx context.Context, conn string, key []byte) (interface {
	store.Store
	migrator
}, error) {
	return postgres.Open(ctx, conn, key)
}
