package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"builds/internal/build"
	"builds/internal/store"
	"builds/internal/store/internal/storeutil"
)

const jobCols = `j.id, j.created, j.updated, j.owner_id, u.name, j.manifest, j.note, j.tags,
	j.visibility, j.status, j.image, j.arch, j.runner, coalesce(j.group_id, 0), j.secrets`

const jobFrom = ` FROM jobs j JOIN users u ON u.id = j.owner_id`

// querier is what both the pool and a transaction offer.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func scanJob(row pgx.Row) (*build.Job, error) {
	j := &build.Job{}
	err := row.Scan(&j.ID, &j.Created, &j.Updated, &j.OwnerID, &j.Owner, &j.Manifest, &j.Note, &j.Tags,
		&j.Visibility, &j.Status, &j.Image, &j.Arch, &j.Runner, &j.GroupID, &j.Secrets)
	if err != nil {
		return nil, err
	}
	j.Created, j.Updated, j.Tags = j.Created.UTC(), j.Updated.UTC(), list(j.Tags)
	return j, nil
}

// createJob inserts a job and its tasks in one statement, so one round
// trip and one implicit transaction, and returns the IDs and owner's name.
const createJob = `WITH j AS (
	INSERT INTO jobs (created, updated, owner_id, manifest, note, tags, tag_path,
		visibility, status, image, arch, runner, group_id, secrets)
	VALUES ($1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULLIF($12, 0), $13)
	RETURNING id, owner_id
), t AS (
	INSERT INTO tasks (job_id, created, updated, name, status)
	SELECT j.id, $1, $1, x.name, x.status
	FROM j, unnest($14::text[], $15::text[]) WITH ORDINALITY AS x(name, status, n)
	ORDER BY x.n
	RETURNING id, name
)
SELECT j.id, u.name,
	coalesce((SELECT array_agg(id) FROM t), '{}'),
	coalesce((SELECT array_agg(name) FROM t), '{}')
FROM j JOIN users u ON u.id = j.owner_id`

// CreateJob stores j and its tasks in one statement.
func (d *DB) CreateJob(ctx context.Context, j *build.Job) error {
	if err := storeutil.CheckJob(j); err != nil {
		return err
	}
	now := store.Now()
	j.Created, j.Updated = now, now
	names := make([]string, len(j.Tasks))
	statuses := make([]string, len(j.Tasks))
	for i, t := range j.Tasks {
		names[i], statuses[i] = t.Name, string(t.Status)
	}
	tags := j.Tags
	if tags == nil {
		tags = []string{}
	}
	var ids []int64
	var idNames []string
	err := d.pool.QueryRow(ctx, createJob, now, j.OwnerID, j.Manifest, j.Note, tags, storeutil.TagPath(j.Tags),
		string(j.Visibility), string(j.Status), j.Image, j.Arch, j.Runner, j.GroupID, j.Secrets,
		names, statuses).Scan(&j.ID, &j.Owner, &ids, &idNames)
	if err != nil {
		return translate(err, fmt.Sprintf("job of user %d", j.OwnerID))
	}
	byName := make(map[string]int64, len(ids))
	for i, id := range ids {
		byName[idNames[i]] = id
	}
	for i := range j.Tasks {
		t := &j.Tasks[i]
		t.ID, t.JobID, t.Created, t.Updated = byName[t.Name], j.ID, now, now
	}
	return nil
}

// Job returns the job with its tasks.
func (d *DB) Job(ctx context.Context, id int64) (*build.Job, error) {
	return jobByID(ctx, d.pool, id)
}

func jobByID(ctx context.Context, q querier, id int64) (*build.Job, error) {
	j, err := scanJob(q.QueryRow(ctx, `SELECT `+jobCols+jobFrom+` WHERE j.id = $1`, id))
	if err != nil {
		return nil, translate(err, fmt.Sprintf("job %d", id))
	}
	if err := loadTasks(ctx, q, []*build.Job{j}); err != nil {
		return nil, err
	}
	return j, nil
}

// loadTasks fills the tasks of jobs with one query.
func loadTasks(ctx context.Context, q querier, jobs []*build.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	byID := make(map[int64]*build.Job, len(jobs))
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		byID[j.ID] = j
		ids[i] = j.ID
	}
	rows, err := q.Query(ctx, `SELECT id, job_id, created, updated, name, status FROM tasks
		WHERE job_id = ANY($1) ORDER BY id`, ids)
	if err != nil {
		return fmt.Errorf("load tasks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t build.Task
		if err := rows.Scan(&t.ID, &t.JobID, &t.Created, &t.Updated, &t.Name, &t.Status); err != nil {
			return fmt.Errorf("load tasks: %w", err)
		}
		t.Created, t.Updated = t.Created.UTC(), t.Updated.UTC()
		j := byID[t.JobID]
		j.Tasks = append(j.Tasks, t)
	}
	return rows.Err()
}
