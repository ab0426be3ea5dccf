package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"builds/internal/build"
	"builds/internal/store"
	"builds/internal/store/internal/storeutil"
)

// ListJobs returns one page of jobs newest first, and the cursor of the
// next page (0 when this is the last).
func (d *DB) ListJobs(ctx context.Context, f store.JobFilter) ([]*build.Job, int64, error) {
	limit := storeutil.Limit(f.Limit)
	q, args := listJobsQuery(f, limit+1)
	rows, err := d.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list jobs: %w", err)
	}
	jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*build.Job, error) { return scanJob(r) })
	if err != nil {
		return nil, 0, fmt.Errorf("list jobs: %w", err)
	}
	var next int64
	if len(jobs) > limit {
		jobs = jobs[:limit]
		next = jobs[limit-1].ID
	}
	if err := loadTasks(ctx, d.pool, jobs); err != nil {
		return nil, 0, err
	}
	return jobs, next, nil
}

// CountJobs counts the jobs matching f, ignoring its cursor and limit.
func (d *DB) CountJobs(ctx context.Context, f store.JobFilter) (int64, error) {
	f.Before = 0
	where, args := jobWhere(f)
	var n int64
	if err := d.pool.QueryRow(ctx, `SELECT count(*)`+jobFrom+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count jobs: %w", err)
	}
	return n, nil
}

// listJobsQuery is the query of one page of a listing, at most limit jobs.
func listJobsQuery(f store.JobFilter, limit int) (string, []any) {
	where, args := jobWhere(f)
	args = append(args, limit)
	return `SELECT ` + jobCols + jobFrom + where + ` ORDER BY j.id DESC LIMIT $` + strconv.Itoa(len(args)), args
}

// jobWhere builds the WHERE clause of a listing.
func jobWhere(f store.JobFilter) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		args = append(args, arg)
		conds = append(conds, strings.ReplaceAll(cond, "$?", "$"+strconv.Itoa(len(args))))
	}
	if f.OwnerID != 0 {
		add("j.owner_id = $?", f.OwnerID)
	}
	if f.Before != 0 {
		add("j.id < $?", f.Before)
	}
	// A single value is compared with =, not = ANY: only then can an index
	// on (owner_id, visibility, id) hand rows over in id order, so that the
	// LIMIT stops the scan instead of a sort of every match.
	if len(f.Status) > 0 {
		add(oneOrAny("j.status", len(f.Status)), anyArg(strs(f.Status)))
	}
	if len(f.Visibility) > 0 {
		add(oneOrAny("j.visibility", len(f.Visibility)), anyArg(strs(f.Visibility)))
	}
	if f.Image != "" {
		add("j.image = $?", f.Image)
	}
	if f.NoteContains != "" {
		// strpos, not LIKE, so that '%' and '_' in the text are literal;
		// lower() of ASCII only, as SQLite's.
		add("strpos(lower(j.note), lower($?)) > 0", f.NoteContains)
	}
	if len(f.TagPrefix) > 0 {
		// starts_with, not LIKE, so that '%' and '_' in tags are literal.
		p := storeutil.TagPath(f.TagPrefix)
		add("(j.tag_path = $? OR starts_with(j.tag_path, $?::text || '/'))", p)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// oneOrAny compares col with one value, or with any of an array's.
func oneOrAny(col string, n int) string {
	if n == 1 {
		return col + " = $?"
	}
	return col + " = ANY($?)"
}

// anyArg is the argument oneOrAny's condition takes.
func anyArg(l []string) any {
	if len(l) == 1 {
		return l[0]
	}
	return l
}

func strs[T ~string](l []T) []string {
	out := make([]string, len(l))
	for i, v := range l {
		out[i] = string(v)
	}
	return out
}

// SetJobStatus moves a job to status to if the transition rules allow it
// from its current status; the check and the change are one UPDATE, which
// PostgreSQL re-checks against the newest row version when it had to wait
// for a concurrent change.
func (d *DB) SetJobStatus(ctx context.Context, id int64, to build.JobStatus, runner string) (*build.Job, error) {
	if !to.Valid() {
		return nil, build.Errorf(build.EINVALID, "unknown job status %q", to)
	}
	var j *build.Job
	err := d.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE jobs SET status = $1, updated = $2,
			runner = CASE WHEN $3 = '' THEN runner ELSE $3 END
			WHERE id = $4 AND status = ANY($5)`,
			string(to), store.Now(), runner, id, storeutil.JobSources(to))
		if err != nil {
			return fmt.Errorf("set job %d status: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return refusal(ctx, tx, id, to)
		}
		j, err = jobByID(ctx, tx, id)
		return err
	})
	return j, err
}

// refusal explains why a job could not become to.
func refusal(ctx context.Context, q querier, id int64, to build.JobStatus) error {
	var cur build.JobStatus
	if err := q.QueryRow(ctx, `SELECT status FROM jobs WHERE id = $1`, id).Scan(&cur); err != nil {
		return translate(err, fmt.Sprintf("job %d", id))
	}
	if err := cur.CheckTransition(to); err != nil {
		return err
	}
	return build.Errorf(build.ECONFLICT, "job %d changed status concurrently", id)
}

// SetTaskStatus moves one task if the transition rules allow it, and
// touches its job's Updated.
func (d *DB) SetTaskStatus(ctx context.Context, jobID int64, task string, to build.TaskStatus) error {
	if !to.Valid() {
		return build.Errorf(build.EINVALID, "unknown task status %q", to)
	}
	var moved bool
	err := d.pool.QueryRow(ctx, `WITH t AS (
			UPDATE tasks SET status = $1, updated = $2
			WHERE job_id = $3 AND name = $4 AND status = ANY($5) RETURNING job_id
		), j AS (UPDATE jobs SET updated = $2 WHERE id IN (SELECT job_id FROM t))
		SELECT EXISTS (SELECT 1 FROM t)`,
		string(to), store.Now(), jobID, task, storeutil.TaskSources(to)).Scan(&moved)
	if err != nil || moved {
		return translate(err, fmt.Sprintf("task %q of job %d", task, jobID))
	}
	var cur build.TaskStatus
	err = d.pool.QueryRow(ctx, `SELECT status FROM tasks WHERE job_id = $1 AND name = $2`, jobID, task).Scan(&cur)
	if err != nil {
		return translate(err, fmt.Sprintf("task %q of job %d", task, jobID))
	}
	if err := cur.CheckTransition(to); err != nil {
		return err
	}
	return build.Errorf(build.ECONFLICT, "task %q of job %d changed status concurrently", task, jobID)
}

// JobsByStatus returns IDs of jobs in status s, oldest first; limit <= 0
// returns all of them.
func (d *DB) JobsByStatus(ctx context.Context, s build.JobStatus, limit int) ([]int64, error) {
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	rows, err := d.pool.Query(ctx, `SELECT id FROM jobs WHERE status = $1 ORDER BY id LIMIT $2`, string(s), lim)
	if err != nil {
		return nil, fmt.Errorf("jobs by status: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("jobs by status: %w", err)
	}
	return ids, nil
}

// SetJobVisibility changes a job's visibility.
func (d *DB) SetJobVisibility(ctx context.Context, id int64, v build.Visibility) error {
	if !v.Valid() {
		return build.Errorf(build.EINVALID, "unknown visibility %q", v)
	}
	tag, err := d.pool.Exec(ctx, `UPDATE jobs SET visibility = $1, updated = $2 WHERE id = $3`, string(v), store.Now(), id)
	if err != nil {
		return fmt.Errorf("set job visibility: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return build.Errorf(build.ENOTFOUND, "no job with ID %d", id)
	}
	return nil
}
