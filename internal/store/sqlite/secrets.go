package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/google/uuid"

	"builds/internal/build"
	"builds/internal/store"
	"builds/internal/store/internal/storeutil"
)

const secretCols = `id, uuid, owner_id, created, coalesce(name, ''), kind, path, mode`

func scanSecret(row interface{ Scan(...any) error }, extra ...any) (*build.Secret, error) {
	s := &build.Secret{}
	var created int64
	dest := append([]any{&s.ID, &s.UUID, &s.OwnerID, &created, &s.Name, &s.Kind, &s.Path, &s.Mode}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	s.Created = fromMicros(created)
	return s, nil
}

// CreateSecret encrypts s.Data and stores s, filling ID, Created and, when
// empty, UUID.
func (d *DB) CreateSecret(ctx context.Context, s *build.Secret) error {
	if err := storeutil.CheckSecret(s); err != nil {
		return err
	}
	if s.UUID == "" {
		s.UUID = uuid.NewString()
	}
	s.Created = store.Now()
	sealed := d.box.Seal(s.Data, storeutil.SecretAD(s.UUID))
	name := sql.Null[string]{V: s.Name, Valid: s.Name != ""}
	err := d.write(ctx, func(tx querier) error {
		return tx.QueryRowContext(ctx, `INSERT INTO secrets (uuid, owner_id, created, name, kind, path, mode, data)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			s.UUID, s.OwnerID, micros(s.Created), name, s.Kind, s.Path, s.Mode, sealed).Scan(&s.ID)
	})
	if s.Name != "" {
		return translate(err, fmt.Sprintf("secret %q", s.Name))
	}
	return translate(err, "secret "+s.UUID)
}

// Secret returns the secret with its data decrypted.
func (d *DB) Secret(ctx context.Context, id string) (*build.Secret, error) {
	return d.secretWhere(ctx, "secret "+id, `uuid = ?`, id)
}

// SecretByName returns the owner's secret of that name, decrypted.
func (d *DB) SecretByName(ctx context.Context, ownerID int64, name string) (*build.Secret, error) {
	if name == "" {
		return nil, build.Errorf(build.ENOTFOUND, "secret \"\" not found")
	}
	return d.secretWhere(ctx, fmt.Sprintf("secret %q", name), `owner_id = ? AND name = ?`, ownerID, name)
}

func (d *DB) secretWhere(ctx context.Context, what, where string, args ...any) (*build.Secret, error) {
	var sealed []byte
	s, err := scanSecret(d.rq.QueryRowContext(ctx, `SELECT `+secretCols+`, data FROM secrets WHERE `+where, args...), &sealed)
	if err != nil {
		return nil, translate(err, what)
	}
	if s.Data, err = d.box.Open(sealed, storeutil.SecretAD(s.UUID)); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return s, nil
}

// ListSecrets returns a page of the owner's secrets without their data.
func (d *DB) ListSecrets(ctx context.Context, ownerID int64, before int64, limit int) ([]*build.Secret, int64, error) {
	limit = storeutil.Limit(limit)
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := d.rq.QueryContext(ctx, `SELECT `+secretCols+` FROM secrets
		WHERE owner_id = ? AND id < ? ORDER BY id DESC LIMIT ?`, ownerID, before, limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("list secrets: %w", err)
	}
	defer rows.Close()
	var out []*build.Secret
	for rows.Next() {
		s, err := scanSecret(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list secrets: %w", err)
		}
		out = append(out, s)
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, rows.Err()
}

// DeleteSecret deletes the owner's secret.
func (d *DB) DeleteSecret(ctx context.Context, ownerID int64, id string) error {
	what := "secret " + id
	return d.write(ctx, func(tx querier) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM secrets WHERE uuid = ? AND owner_id = ?`, id, ownerID)
		if err != nil {
			return translate(err, what)
		}
		return rowsAffected(res, what)
	})
}
