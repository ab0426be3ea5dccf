package sqlite

import (
	"context"
	"fmt"

	"builds/internal/build"
	"builds/internal/store"
)

const userCols = `id, created, name, email, admin`

func scanUser(row interface{ Scan(...any) error }) (*build.User, error) {
	u := &build.User{}
	var created int64
	if err := row.Scan(&u.ID, &created, &u.Name, &u.Email, &u.Admin); err != nil {
		return nil, err
	}
	u.Created = fromMicros(created)
	return u, nil
}

// CreateUser stores u, filling ID and Created.
func (d *DB) CreateUser(ctx context.Context, u *build.User) error {
	u.Created = store.Now()
	err := d.write(ctx, func(tx querier) error {
		return tx.QueryRowContext(ctx,
			`INSERT INTO users (created, name, email, admin) VALUES (?, ?, ?, ?) RETURNING id`,
			micros(u.Created), u.Name, u.Email, u.Admin).Scan(&u.ID)
	})
	return translate(err, fmt.Sprintf("user %q", u.Name))
}

// UserByID returns the user with that ID.
func (d *DB) UserByID(ctx context.Context, id int64) (*build.User, error) {
	u, err := scanUser(d.rq.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	return u, translate(err, fmt.Sprintf("user %d", id))
}

// UserByName returns the user with that name.
func (d *DB) UserByName(ctx context.Context, name string) (*build.User, error) {
	u, err := scanUser(d.rq.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE name = ?`, name))
	return u, translate(err, fmt.Sprintf("user %q", name))
}

// SetPassword stores the user's password hash and ends their sessions.
func (d *DB) SetPassword(ctx context.Context, userID int64, hash []byte) error {
	what := fmt.Sprintf("user %d", userID)
	return d.write(ctx, func(tx querier) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID)
		if err != nil {
			return translate(err, what)
		}
		if err := rowsAffected(res, what); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
		return translate(err, "sessions")
	})
}

// PasswordHash returns the stored hash; ENOTFOUND when the user has none.
func (d *DB) PasswordHash(ctx context.Context, userID int64) ([]byte, error) {
	var hash []byte
	err := d.rq.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = ?`, userID).Scan(&hash)
	if err == nil && len(hash) == 0 {
		return nil, build.Errorf(build.ENOTFOUND, "user %d has no password", userID)
	}
	return hash, translate(err, fmt.Sprintf("user %d", userID))
}
