package sqlite

import (
	"context"
	"fmt"

	"builds/internal/build"
	"builds/internal/store"
)

// AddSSHKey stores k, filling ID and Created.
func (d *DB) AddSSHKey(ctx context.Context, k *build.SSHPublicKey) error {
	k.Created = store.Now()
	err := d.write(ctx, func(tx querier) error {
		return tx.QueryRowContext(ctx, `INSERT INTO ssh_keys (user_id, created, fingerprint, key, comment)
			VALUES (?, ?, ?, ?, ?) RETURNING id`,
			k.UserID, micros(k.Created), k.Fingerprint, k.Key, k.Comment).Scan(&k.ID)
	})
	return translate(err, "SSH key "+k.Fingerprint)
}

// ListSSHKeys returns a user's keys, oldest first.
func (d *DB) ListSSHKeys(ctx context.Context, userID int64) ([]*build.SSHPublicKey, error) {
	rows, err := d.rq.QueryContext(ctx, `SELECT id, user_id, created, fingerprint, key, comment
		FROM ssh_keys WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list ssh keys: %w", err)
	}
	defer rows.Close()
	var out []*build.SSHPublicKey
	for rows.Next() {
		k := &build.SSHPublicKey{}
		var created int64
		if err := rows.Scan(&k.ID, &k.UserID, &created, &k.Fingerprint, &k.Key, &k.Comment); err != nil {
			return nil, fmt.Errorf("list ssh keys: %w", err)
		}
		k.Created = fromMicros(created)
		out = append(out, k)
	}
	return out, rows.Err()
}

// DeleteSSHKey deletes the user's key.
func (d *DB) DeleteSSHKey(ctx context.Context, userID, id int64) error {
	what := fmt.Sprintf("SSH key %d", id)
	return d.write(ctx, func(tx querier) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM ssh_keys WHERE id = ? AND user_id = ?`, id, userID)
		if err != nil {
			return translate(err, what)
		}
		return rowsAffected(res, what)
	})
}
