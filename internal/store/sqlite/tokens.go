package sqlite

import (
	"context"
	"fmt"
	"time"

	"builds/internal/build"
	"builds/internal/store"
)

// lastUsedEvery is how stale LastUsed may get before TokenByHash writes.
const lastUsedEvery = time.Minute

const tokenCols = `t.id, t.user_id, t.created, t.expires, t.name, t.grants, t.last_used`

func scanToken(row interface{ Scan(...any) error }, extra ...any) (*build.Token, error) {
	t := &build.Token{}
	var created, expires, lastUsed int64
	var grants string
	dest := append([]any{&t.ID, &t.UserID, &created, &expires, &t.Name, &grants, &lastUsed}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	t.Created, t.Expires, t.LastUsed = fromMicros(created), fromMicros(expires), fromMicros(lastUsed)
	gs, err := build.ParseGrants(grants)
	if err != nil {
		return nil, fmt.Errorf("token %d: stored grants: %w", t.ID, err)
	}
	t.Grants = gs
	return t, nil
}

// CreateToken stores t under the hash of its secret value.
func (d *DB) CreateToken(ctx context.Context, t *build.Token, hash []byte) error {
	t.Created = store.Now()
	err := d.write(ctx, func(tx querier) error {
		return tx.QueryRowContext(ctx,
			`INSERT INTO tokens (user_id, created, expires, name, grants, hash) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			t.UserID, micros(t.Created), micros(t.Expires), t.Name, build.FormatGrants(t.Grants), hash).Scan(&t.ID)
	})
	return translate(err, "token")
}

// TokenByHash returns the unexpired token with that hash and its owner.
func (d *DB) TokenByHash(ctx context.Context, hash []byte) (*build.Token, *build.User, error) {
	now := store.Now()
	var u build.User
	var uCreated int64
	t, err := scanToken(d.rq.QueryRowContext(ctx,
		`SELECT `+tokenCols+`, u.id, u.created, u.name, u.email, u.admin
		FROM tokens t JOIN users u ON u.id = t.user_id
		WHERE t.hash = ? AND (t.expires = 0 OR t.expires > ?)`, hash, micros(now)),
		&u.ID, &uCreated, &u.Name, &u.Email, &u.Admin)
	if err != nil {
		return nil, nil, translate(err, "token")
	}
	u.Created = fromMicros(uCreated)
	if now.Sub(t.LastUsed) >= lastUsedEvery {
		err := d.write(ctx, func(tx querier) error {
			_, err := tx.ExecContext(ctx, `UPDATE tokens SET last_used = ? WHERE id = ?`, micros(now), t.ID)
			return err
		})
		if err != nil {
			return nil, nil, fmt.Errorf("record token use: %w", err)
		}
		t.LastUsed = now
	}
	return t, &u, nil
}

// ListTokens returns a user's tokens, expired ones included, oldest first.
func (d *DB) ListTokens(ctx context.Context, userID int64) ([]*build.Token, error) {
	rows, err := d.rq.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens t WHERE t.user_id = ? ORDER BY t.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []*build.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken deletes the token if userID owns it.
func (d *DB) RevokeToken(ctx context.Context, userID, tokenID int64) error {
	what := fmt.Sprintf("token %d", tokenID)
	return d.write(ctx, func(tx querier) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE id = ? AND user_id = ?`, tokenID, userID)
		if err != nil {
			return translate(err, what)
		}
		return rowsAffected(res, what)
	})
}
