package sqlite

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// maxGroup bounds how many writes share one transaction, so that a long
// queue still commits (and answers its callers) regularly.
const maxGroup = 64

// errClosed is returned by writes after Close.
var errClosed = errors.New("sqlite store is closed")

// writeReq is one caller's write, waiting for the writer goroutine.
type writeReq struct {
	ctx context.Context
	fn  func(tx querier) error
	err chan error // receives the outcome once the group has committed
}

// write runs fn in a write transaction and returns once that transaction
// has committed (or fn failed). fn may share the transaction with other
// writes: it then runs inside a savepoint, so its failure undoes only its
// own changes. ctx only stops a write that has not started: statements in a
// write transaction are not interrupted (see cached), since interrupting
// SQLite mid-statement would roll back the whole group.
func (d *DB) write(ctx context.Context, fn func(tx querier) error) error {
	req := &writeReq{ctx: ctx, fn: fn, err: make(chan error, 1)}
	select {
	case d.writes <- req:
	case <-ctx.Done():
		return fmt.Errorf("wait to write: %w", ctx.Err())
	case <-d.quit:
		return errClosed
	}
	return <-req.err
}

// writer takes writes off the queue and runs each group of waiting ones
// in one transaction, until Close.
func (d *DB) writer() {
	defer close(d.done)
	for {
		var group []*writeReq
		select {
		case r := <-d.writes:
			group = append(group, r)
		case <-d.quit:
			return
		}
		// Callers that just got their answer are about to send their next
		// write; one yield lets them join this group.
		runtime.Gosched()
	gather:
		for len(group) < maxGroup {
			select {
			case r := <-d.writes:
				group = append(group, r)
			default:
				break gather
			}
		}
		d.commitGroup(group)
	}
}

// commitGroup runs a group of writes in one transaction and tells each
// caller its outcome.
func (d *DB) commitGroup(group []*writeReq) {
	errs := make([]error, len(group))
	err := d.runGroup(group, errs)
	for i, r := range group {
		if errs[i] == nil && err != nil {
			errs[i] = err
		}
		r.err <- errs[i]
	}
}

func (d *DB) runGroup(group []*writeReq, errs []error) error {
	tx, err := d.w.BeginTx(context.Background(), nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	q := cached{c: d.wstmts, tx: tx}
	ok := 0
	for i, r := range group {
		if err := r.ctx.Err(); err != nil {
			errs[i] = fmt.Errorf("wait to write: %w", err)
			continue
		}
		if len(group) == 1 {
			errs[i] = r.fn(q)
		} else if errs[i] = inSavepoint(r.fn, q); errors.Is(errs[i], errGroupBroken) {
			// The transaction is gone: nothing of the group may commit.
			tx.Rollback()
			return errs[i]
		}
		if errs[i] == nil {
			ok++
		}
	}
	if ok == 0 {
		tx.Rollback()
		return nil
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// errGroupBroken marks a failure that undid the whole transaction.
var errGroupBroken = errors.New("write transaction aborted")

// inSavepoint runs fn so that its failure undoes only its own changes.
func inSavepoint(fn func(tx querier) error, q cached) error {
	ctx := context.Background()
	if _, err := q.ExecContext(ctx, `SAVEPOINT w`); err != nil {
		return fmt.Errorf("%w: savepoint: %w", errGroupBroken, err)
	}
	err := fn(q)
	if err != nil {
		if _, rbErr := q.ExecContext(ctx, `ROLLBACK TO w`); rbErr != nil {
			return fmt.Errorf("%w: %w; rollback to savepoint: %w", errGroupBroken, err, rbErr)
		}
	}
	if _, relErr := q.ExecContext(ctx, `RELEASE w`); relErr != nil {
		return fmt.Errorf("%w: release savepoint: %w", errGroupBroken, relErr)
	}
	return err
}
