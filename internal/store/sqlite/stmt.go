package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// querier runs statements; both the read pool and a write transaction
// offer it.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// stmtCache keeps one prepared statement per query text. Parsing SQL is a
// large part of a short statement's cost in SQLite, so every query runs
// prepared. Query texts are constants (lists are passed as one JSON
// argument), so the cache stays small.
type stmtCache struct {
	pool *sql.DB
	mu   sync.Mutex
	m    map[string]*sql.Stmt
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, m: make(map[string]*sql.Stmt)}
}

func (c *stmtCache) get(ctx context.Context, q string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[q]; ok {
		return st, nil
	}
	st, err := c.pool.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.m[q] = st
	return st, nil
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.m {
		errs = append(errs, st.Close())
	}
	clear(c.m)
	return errors.Join(errs...)
}

// cached is a querier that runs every query through c, inside tx when tx
// is not nil. When preparing fails it runs the query unprepared, which
// reports the same error the usual way.
//
// Inside a write transaction the caller's context is not allowed to cancel
// a statement: the driver would interrupt SQLite, which rolls back the
// whole transaction, shared with other writers (see write).
type cached struct {
	c  *stmtCache
	tx *sql.Tx
}

// ctx returns the context statements run with.
func (q cached) ctx(ctx context.Context) context.Context {
	if q.tx != nil {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

func (q cached) stmt(ctx context.Context, query string) *sql.Stmt {
	st, err := q.c.get(ctx, query)
	if err != nil {
		return nil
	}
	if q.tx != nil {
		return q.tx.StmtContext(ctx, st)
	}
	return st
}

func (q cached) direct() querier {
	if q.tx != nil {
		return q.tx
	}
	return q.c.pool
}

func (q cached) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = q.ctx(ctx)
	if st := q.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.direct().ExecContext(ctx, query, args...)
}

func (q cached) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = q.ctx(ctx)
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return q.direct().QueryContext(ctx, query, args...)
}

func (q cached) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = q.ctx(ctx)
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.direct().QueryRowContext(ctx, query, args...)
}
