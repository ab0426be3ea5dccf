package sqlite

import (
	"context"
	"fmt"
	"time"

	"builds/internal/build"
	"builds/internal/store"
)

// CreateSession stores a session and forgets the user's expired ones.
func (d *DB) CreateSession(ctx context.Context, hash []byte, userID int64, expires time.Time) error {
	now := store.Now()
	err := d.write(ctx, func(tx querier) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND expires <= ?`, userID, micros(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (hash, user_id, created, expires) VALUES (?, ?, ?, ?)`,
			hash, userID, micros(now), micros(expires))
		return err
	})
	return translate(err, "session")
}

// SessionUser returns the user of an unexpired session.
func (d *DB) SessionUser(ctx context.Context, hash []byte) (*build.User, error) {
	u, err := scanUser(d.rq.QueryRowContext(ctx, `SELECT u.id, u.created, u.name, u.email, u.admin
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = ? AND s.expires > ?`, hash, micros(store.Now())))
	return u, translate(err, "session")
}

// DeleteSession ends one session.
func (d *DB) DeleteSession(ctx context.Context, hash []byte) error {
	err := d.write(ctx, func(tx querier) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
		return err
	})
	return translate(err, "session")
}

// DeleteUserSessions ends every session of a user.
func (d *DB) DeleteUserSessions(ctx context.Context, userID int64) (int, error) {
	var n int64
	err := d.write(ctx, func(tx querier) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	return int(n), nil
}

// UseLoginLink records a login link's use, once.
func (d *DB) UseLoginLink(ctx context.Context, nonce string, expires time.Time) (bool, error) {
	var n int64
	err := d.write(ctx, func(tx querier) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM used_login_links WHERE expires <= ?`, micros(store.Now())); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO used_login_links (nonce, expires) VALUES (?, ?) ON CONFLICT DO NOTHING`,
			nonce, micros(expires))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("use login link: %w", err)
	}
	return n == 1, nil
}
