package postgres

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"builds/internal/build"
	"builds/internal/store"
	"builds/internal/store/internal/storeutil"
)

const secretCols = `id, uuid, owner_id, created, coalesce(name, ''), kind, path, mode`

func scanSecret(row pgx.Row, extra ...any) (*build.Secret, error) {
	s := &build.Secret{}
	dest := append([]any{&s.ID, &s.UUID, &s.OwnerID, &s.Created, &s.Name, &s.Kind, &s.Path, &s.Mode}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	s.Created = s.Created.UTC()
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
	err := d.pool.QueryRow(ctx, `INSERT INTO secrets (uuid, owner_id, created, name, kind, path, mode, data)
		VALUES ($1, $2, $3, NULLIF($4, ''), $5, $6, $7, $8) RETURNING id`,
		s.UUID, s.OwnerID, s.Created, s.Name, s.Kind, s.Path, s.Mode, sealed).Scan(&s.ID)
	if s.Name != "" {
		return translate(err, fmt.Sprintf("secret %q", s.Name))
	}
	return translate(err, "secret "+s.UUID)
}

// Secret returns the secret with its data decrypted.
func (d *DB) Secret(ctx context.Context, id string) (*build.Secret, error) {
	return d.secretWhere(ctx, "secret "+id, `uuid = $1`, id)
}

// SecretByName returns the owner's secret of that name, decrypted.
func (d *DB) SecretByName(ctx context.Context, ownerID int64, name string) (*build.Secret, error) {
	return d.secretWhere(ctx, fmt.Sprintf("secret %q", name), `owner_id = $1 AND name = $2`, ownerID, name)
}

func (d *DB) secretWhere(ctx context.Context, what, where string, args ...any) (*build.Secret, error) {
	var sealed []byte
	s, err := scanSecret(d.pool.QueryRow(ctx, `SELECT `+secretCols+`, data FROM secrets WHERE `+where, args...), &sealed)
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
	rows, err := d.pool.Query(ctx, `SELECT `+secretCols+` FROM secrets
		WHERE owner_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, ownerID, before, limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("list secrets: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*build.Secret, error) { return scanSecret(r) })
	if err != nil {
		return nil, 0, fmt.Errorf("list secrets: %w", err)
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// DeleteSecret deletes the owner's secret.
func (d *DB) DeleteSecret(ctx context.Context, ownerID int64, id string) error {
	tag, err := d.pool.Exec(ctx, `DELETE FROM secrets WHERE uuid = $1 AND owner_id = $2`, id, ownerID)
	return affected(tag, err, "secret "+id)
}
