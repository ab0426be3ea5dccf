package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"builds/internal/build"
	"builds/internal/store"
)

const userCols = `id, created, name, email, admin`

func scanUser(row pgx.Row) (*build.User, error) {
	u := &build.User{}
	if err := row.Scan(&u.ID, &u.Created, &u.Name, &u.Email, &u.Admin); err != nil {
		return nil, err
	}
	u.Created = u.Created.UTC()
	return u, nil
}

// CreateUser stores u, filling ID and Created.
func (d *DB) CreateUser(ctx context.Context, u *build.User) error {
	u.Created = store.Now()
	err := d.pool.QueryRow(ctx, `INSERT INTO users (created, name, email, admin) VALUES ($1, $2, $3, $4) RETURNING id`,
		u.Created, u.Name, u.Email, u.Admin).Scan(&u.ID)
	return translate(err, fmt.Sprintf("user %q", u.Name))
}

// UserByID returns the user with that ID.
func (d *DB) UserByID(ctx context.Context, id int64) (*build.User, error) {
	u, err := scanUser(d.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	return u, translate(err, fmt.Sprintf("user %d", id))
}

// UserByName returns the user with that name.
func (d *DB) UserByName(ctx context.Context, name string) (*build.User, error) {
	u, err := scanUser(d.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE name = $1`, name))
	return u, translate(err, fmt.Sprintf("user %q", name))
}

// SetPassword stores the user's password hash and ends their sessions.
func (d *DB) SetPassword(ctx context.Context, userID int64, hash []byte) error {
	return d.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, hash, userID)
		if err := affected(tag, err, fmt.Sprintf("user %d", userID)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		return nil
	})
}

// PasswordHash returns the stored hash; ENOTFOUND when the user has none.
func (d *DB) PasswordHash(ctx context.Context, userID int64) ([]byte, error) {
	var hash []byte
	err := d.pool.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, userID).Scan(&hash)
	if err == nil && len(hash) == 0 {
		return nil, build.Errorf(build.ENOTFOUND, "user %d has no password", userID)
	}
	return hash, translate(err, fmt.Sprintf("user %d", userID))
}
