package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"builds/internal/build"
	"builds/internal/store"
)

// AddArtifact stores a's metadata.
func (d *DB) AddArtifact(ctx context.Context, a *build.Artifact) error {
	a.Created = store.Now()
	err := d.pool.QueryRow(ctx, `INSERT INTO artifacts (job_id, created, path, name, size, url)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		a.JobID, a.Created, a.Path, a.Name, a.Size, a.URL).Scan(&a.ID)
	return translate(err, fmt.Sprintf("artifact %q of job %d", a.Name, a.JobID))
}

// ListArtifacts returns a job's artifacts in upload order.
func (d *DB) ListArtifacts(ctx context.Context, jobID int64) ([]*build.Artifact, error) {
	rows, err := d.pool.Query(ctx, `SELECT id, job_id, created, path, name, size, url
		FROM artifacts WHERE job_id = $1 ORDER BY id`, jobID)
	if err != nil {
		return nil, fmt.Errorf("list artifacts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*build.Artifact, error) {
		a := &build.Artifact{}
		err := r.Scan(&a.ID, &a.JobID, &a.Created, &a.Path, &a.Name, &a.Size, &a.URL)
		a.Created = a.Created.UTC()
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("list artifacts: %w", err)
	}
	return out, nil
}
