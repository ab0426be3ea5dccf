package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"builds/internal/build"
	"builds/internal/store"
)

// lastUsedEvery is how stale LastUsed may get before TokenByHash writes.
const lastUsedEvery = time.Minute

const tokenCols = `t.id, t.user_id, t.created, t.expires, t.name, t.grants, t.last_used`

func scanToken(row pgx.Row, extra ...any) (*build.Token, error) {
	t := &build.Token{}
	var expires, lastUsed *time.Time
	var grants string
	dest := append([]any{&t.ID, &t.UserID, &t.Created, &expires, &t.Name, &grants, &lastUsed}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	t.Created, t.Expires, t.LastUsed = t.Created.UTC(), fromNull(expires), fromNull(lastUsed)
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
	err := d.pool.QueryRow(ctx, `INSERT INTO tokens (user_id, created, expires, name, grants, hash)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		t.UserID, t.Created, nullTime(t.Expires), t.Name, build.FormatGrants(t.Grants), hash).Scan(&t.ID)
	return translate(err, "token")
}

// TokenByHash returns the unexpired token with that hash and its owner.
func (d *DB) TokenByHash(ctx context.Context, hash []byte) (*build.Token, *build.User, error) {
	now := store.Now()
	var u build.User
	t, err := scanToken(d.pool.QueryRow(ctx, `SELECT `+tokenCols+`, u.id, u.created, u.name, u.email, u.admin
		FROM tokens t JOIN users u ON u.id = t.user_id
		WHERE t.hash = $1 AND (t.expires IS NULL OR t.expires > $2)`, hash, now),
		&u.ID, &u.Created, &u.Name, &u.Email, &u.Admin)
	if err != nil {
		return nil, nil, translate(err, "token")
	}
	u.Created = u.Created.UTC()
	if now.Sub(t.LastUsed) >= lastUsedEvery {
		if _, err := d.pool.Exec(ctx, `UPDATE tokens SET last_used = $1 WHERE id = $2`, now, t.ID); err != nil {
			return nil, nil, fmt.Errorf("record token use: %w", err)
		}
		t.LastUsed = now
	}
	return t, &u, nil
}

// ListTokens returns a user's tokens, expired ones included, oldest first.
func (d *DB) ListTokens(ctx context.Context, userID int64) ([]*build.Token, error) {
	rows, err := d.pool.Query(ctx, `SELECT `+tokenCols+` FROM tokens t WHERE t.user_id = $1 ORDER BY t.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*build.Token, error) { return scanToken(r) })
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken deletes the token if userID owns it.
func (d *DB) RevokeToken(ctx context.Context, userID, tokenID int64) error {
	tag, err := d.pool.Exec(ctx, `DELETE FROM tokens WHERE id = $1 AND user_id = $2`, tokenID, userID)
	return affected(tag, err, fmt.Sprintf("token %d", tokenID))
}
