package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"builds/internal/build"
	"builds/internal/store"
)

// AddSSHKey stores k, filling ID and Created.
func (d *DB) AddSSHKey(ctx context.Context, k *build.SSHPublicKey) error {
	k.Created = store.Now()
	err := d.pool.QueryRow(ctx, `INSERT INTO ssh_keys (user_id, created, fingerprint, key, comment)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, k.UserID, k.Created, k.Fingerprint, k.Key, k.Comment).Scan(&k.ID)
	return translate(err, "SSH key "+k.Fingerprint)
}

// ListSSHKeys returns a user's keys, oldest first.
func (d *DB) ListSSHKeys(ctx context.Context, userID int64) ([]*build.SSHPublicKey, error) {
	rows, err := d.pool.Query(ctx, `SELECT id, user_id, created, fingerprint, key, comment
		FROM ssh_keys WHERE user_id = $1 ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list ssh keys: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*build.SSHPublicKey, error) {
		k := &build.SSHPublicKey{}
		err := r.Scan(&k.ID, &k.UserID, &k.Created, &k.Fingerprint, &k.Key, &k.Comment)
		k.Created = k.Created.UTC()
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("list ssh keys: %w", err)
	}
	return out, nil
}

// DeleteSSHKey deletes the user's key.
func (d *DB) DeleteSSHKey(ctx context.Context, userID, id int64) error {
	tag, err := d.pool.Exec(ctx, `DELETE FROM ssh_keys WHERE id = $1 AND user_id = $2`, id, userID)
	return affected(tag, err, fmt.Sprintf("SSH key %d", id))
}
