package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"builds/internal/build"
	"builds/internal/store"
)

// CreateSession stores a session and forgets the user's expired ones.
func (d *DB) CreateSession(ctx context.Context, hash []byte, userID int64, expires time.Time) error {
	now := store.Now()
	err := d.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND expires <= $2`, userID, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO sessions (hash, user_id, created, expires) VALUES ($1, $2, $3, $4)`,
			hash, userID, now, expires.UTC())
		return err
	})
	return translate(err, "session")
}

// SessionUser returns the user of an unexpired session.
func (d *DB) SessionUser(ctx context.Context, hash []byte) (*build.User, error) {
	u, err := scanUser(d.pool.QueryRow(ctx, `SELECT u.id, u.created, u.name, u.email, u.admin
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = $1 AND s.expires > $2`, hash, store.Now()))
	return u, translate(err, "session")
}

// DeleteSession ends one session.
func (d *DB) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := d.pool.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash)
	return translate(err, "session")
}

// DeleteUserSessions ends every session of a user.
func (d *DB) DeleteUserSessions(ctx context.Context, userID int64) (int, error) {
	tag, err := d.pool.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// UseLoginLink records a login link's use, once.
func (d *DB) UseLoginLink(ctx context.Context, nonce string, expires time.Time) (bool, error) {
	var first bool
	err := d.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM used_login_links WHERE expires <= $1`, store.Now()); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO used_login_links (nonce, expires) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			nonce, expires.UTC())
		first = tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("use login link: %w", err)
	}
	return first, nil
}
