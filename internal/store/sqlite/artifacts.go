package sqlite

import (
	"context"
	"fmt"

	"builds/internal/build"
	"builds/internal/store"
)

// AddArtifact stores a's metadata.
func (d *DB) AddArtifact(ctx context.Context, a *build.Artifact) error {
	a.Created = store.Now()
	err := d.write(ctx, func(tx querier) error {
		return tx.QueryRowContext(ctx, `INSERT INTO artifacts (job_id, created, path, name, size, url)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			a.JobID, micros(a.Created), a.Path, a.Name, a.Size, a.URL).Scan(&a.ID)
	})
	return translate(err, fmt.Sprintf("artifact %q of job %d", a.Name, a.JobID))
}

// ListArtifacts returns a job's artifacts in upload order.
func (d *DB) ListArtifacts(ctx context.Context, jobID int64) ([]*build.Artifact, error) {
	rows, err := d.rq.QueryContext(ctx, `SELECT id, job_id, created, path, name, size, url
		FROM artifacts WHERE job_id = ? ORDER BY id`, jobID)
	if err != nil {
		return nil, fmt.Errorf("list artifacts: %w", err)
	}
	defer rows.Close()
	var out []*build.Artifact
	for rows.Next() {
		a := &build.Artifact{}
		var created int64
		if err := rows.Scan(&a.ID, &a.JobID, &created, &a.Path, &a.Name, &a.Size, &a.URL); err != nil {
			return nil, fmt.Errorf("list artifacts: %w", err)
		}
		a.Created = fromMicros(created)
		out = append(out, a)
	}
	return out, rows.Err()
}
