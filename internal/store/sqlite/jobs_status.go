package sqlite

import (
	"context"
	"fmt"
	"strings"

	"builds/internal/build"
	"builds/internal/store"
	"builds/internal/store/internal/storeutil"
)

// ListJobs returns one page of jobs newest first, and the cursor of the
// next page (0 when this is the last).
func (d *DB) ListJobs(ctx context.Context, f store.JobFilter) ([]*build.Job, int64, error) {
	limit := storeutil.Limit(f.Limit)
	where, args := jobWhere(f)
	args = append(args, limit+1)
	rows, err := d.rq.QueryContext(ctx, `SELECT `+jobCols+jobFrom+where+` ORDER BY j.id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	var jobs []*build.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list jobs: %w", err)
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list jobs: %w", err)
	}
	var next int64
	if len(jobs) > limit {
		jobs = jobs[:limit]
		next = jobs[limit-1].ID
	}
	if err := loadTasks(ctx, d.rq, jobs); err != nil {
		return nil, 0, err
	}
	return jobs, next, nil
}

// CountJobs counts the jobs matching f, ignoring its cursor and limit.
func (d *DB) CountJobs(ctx context.Context, f store.JobFilter) (int64, error) {
	f.Before = 0
	where, args := jobWhere(f)
	var n int64
	if err := d.rq.QueryRowContext(ctx, `SELECT count(*)`+jobFrom+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count jobs: %w", err)
	}
	return n, nil
}

// jobWhere builds the WHERE clause of a listing.
func jobWhere(f store.JobFilter) (string, []any) {
	var conds []string
	var args []any
	if f.OwnerID != 0 {
		conds = append(conds, "j.owner_id = ?")
		args = append(args, f.OwnerID)
	}
	if f.Before != 0 {
		conds = append(conds, "j.id < ?")
		args = append(args, f.Before)
	}
	if len(f.Status) > 0 {
		conds = append(conds, "j.status IN (SELECT value FROM json_each(?))")
		args = append(args, jsonList(f.Status))
	}
	if len(f.Visibility) > 0 {
		conds = append(conds, "j.visibility IN (SELECT value FROM json_each(?))")
		args = append(args, jsonList(f.Visibility))
	}
	if f.Image != "" {
		conds = append(conds, "j.image = ?")
		args = append(args, f.Image)
	}
	if f.NoteContains != "" {
		// instr, not LIKE, so that '%' and '_' in the text are literal.
		conds = append(conds, "instr(lower(j.note), lower(?)) > 0")
		args = append(args, f.NoteContains)
	}
	if len(f.TagPrefix) > 0 {
		// substr, not LIKE: LIKE is case-insensitive in SQLite and would
		// need its wildcards escaped.
		p := storeutil.TagPath(f.TagPrefix)
		conds = append(conds, "(j.tag_path = ? OR substr(j.tag_path, 1, ?) = ?)")
		args = append(args, p, len(p)+1, p+"/")
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// SetJobStatus moves a job to status to if the transition rules allow it
// from its current status; the check and the change are one UPDATE.
func (d *DB) SetJobStatus(ctx context.Context, id int64, to build.JobStatus, runner string) (*build.Job, error) {
	if !to.Valid() {
		return nil, build.Errorf(build.EINVALID, "unknown job status %q", to)
	}
	var j *build.Job
	err := d.write(ctx, func(tx querier) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET status = ?, updated = ?,
			runner = CASE WHEN ? = '' THEN runner ELSE ? END
			WHERE id = ? AND status IN (SELECT value FROM json_each(?))`,
			string(to), micros(store.Now()), runner, runner, id, jsonList(storeutil.JobSources(to)))
		if err != nil {
			return fmt.Errorf("set job %d status: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return refusal(ctx, tx, id, to)
		}
		j, err = jobByID(ctx, tx, id)
		return err
	})
	return j, err
}

// refusal explains why a job could not become to: it does not exist, or
// its current status forbids it.
func refusal(ctx context.Context, tx querier, id int64, to build.JobStatus) error {
	var cur build.JobStatus
	err := tx.QueryRowContext(ctx, `SELECT status FROM jobs WHERE id = ?`, id).Scan(&cur)
	if err != nil {
		return translate(err, fmt.Sprintf("job %d", id))
	}
	if err := cur.CheckTransition(to); err != nil {
		return err
	}
	return build.Errorf(build.ECONFLICT, "job %d changed status concurrently", id)
}

// SetTaskStatus moves one task if the transition rules allow it.
func (d *DB) SetTaskStatus(ctx context.Context, jobID int64, task string, to build.TaskStatus) error {
	if !to.Valid() {
		return build.Errorf(build.EINVALID, "unknown task status %q", to)
	}
	return d.write(ctx, func(tx querier) error {
		now := micros(store.Now())
		res, err := tx.ExecContext(ctx, `UPDATE tasks SET status = ?, updated = ?
			WHERE job_id = ? AND name = ? AND status IN (SELECT value FROM json_each(?))`,
			string(to), now, jobID, task, jsonList(storeutil.TaskSources(to)))
		if err != nil {
			return fmt.Errorf("set task status: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			_, err = tx.ExecContext(ctx, `UPDATE jobs SET updated = ? WHERE id = ?`, now, jobID)
			return err
		}
		var cur build.TaskStatus
		err = tx.QueryRowContext(ctx, `SELECT status FROM tasks WHERE job_id = ? AND name = ?`, jobID, task).Scan(&cur)
		if err != nil {
			return translate(err, fmt.Sprintf("task %q of job %d", task, jobID))
		}
		return cur.CheckTransition(to)
	})
}

// JobsByStatus returns IDs of jobs in status s, oldest first; limit <= 0
// returns all of them.
func (d *DB) JobsByStatus(ctx context.Context, s build.JobStatus, limit int) ([]int64, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := d.rq.QueryContext(ctx, `SELECT id FROM jobs WHERE status = ? ORDER BY id LIMIT ?`, string(s), limit)
	if err != nil {
		return nil, fmt.Errorf("jobs by status: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("jobs by status: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// SetJobVisibility changes a job's visibility.
func (d *DB) SetJobVisibility(ctx context.Context, id int64, v build.Visibility) error {
	if !v.Valid() {
		return build.Errorf(build.EINVALID, "unknown visibility %q", v)
	}
	return d.write(ctx, func(tx querier) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET visibility = ?, updated = ? WHERE id = ?`,
			string(v), micros(store.Now()), id)
		if err != nil {
			return fmt.Errorf("set job visibility: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return build.Errorf(build.ENOTFOUND, "no job with ID %d", id)
		}
		return nil
	})
}
