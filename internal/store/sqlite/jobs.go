package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"builds/internal/build"
	"builds/internal/store"
	"builds/internal/store/internal/storeutil"
)

const jobCols = `j.id, j.created, j.updated, j.owner_id, u.name, j.manifest, j.note, j.tags,
	j.visibility, j.status, j.image, j.arch, j.runner, coalesce(j.group_id, 0), j.secrets`

const jobFrom = ` FROM jobs j JOIN users u ON u.id = j.owner_id`

func scanJob(row interface{ Scan(...any) error }) (*build.Job, error) {
	j := &build.Job{}
	var created, updated int64
	var tags string
	err := row.Scan(&j.ID, &created, &updated, &j.OwnerID, &j.Owner, &j.Manifest, &j.Note, &tags,
		&j.Visibility, &j.Status, &j.Image, &j.Arch, &j.Runner, &j.GroupID, &j.Secrets)
	if err != nil {
		return nil, err
	}
	j.Created, j.Updated = fromMicros(created), fromMicros(updated)
	if j.Tags, err = decodeList(tags); err != nil {
		return nil, fmt.Errorf("job %d: tags: %w", j.ID, err)
	}
	return j, nil
}

// encodeList and decodeList store string lists as JSON; an empty list
// reads back as nil.
func encodeList(l []string) string { return jsonList(l) }

// jsonList encodes a list as one JSON argument; queries read it with
// json_each, so their text does not vary with the list's length.
func jsonList[T any](l []T) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l) // lists of strings and numbers always marshal
	return string(b)
}

func decodeList(s string) ([]string, error) {
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, err
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}

// CreateJob stores j and its tasks in one transaction.
func (d *DB) CreateJob(ctx context.Context, j *build.Job) error {
	if err := storeutil.CheckJob(j); err != nil {
		return err
	}
	now := store.Now()
	j.Created, j.Updated = now, now
	err := d.write(ctx, func(tx querier) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO jobs (created, updated, owner_id, manifest, note, tags,
			tag_path, visibility, status, image, arch, runner, group_id, secrets)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			RETURNING id, (SELECT name FROM users WHERE id = owner_id)`,
			micros(now), micros(now), j.OwnerID, j.Manifest, j.Note, encodeList(j.Tags),
			storeutil.TagPath(j.Tags), j.Visibility, j.Status, j.Image, j.Arch, j.Runner,
			sql.Null[int64]{V: j.GroupID, Valid: j.GroupID != 0}, j.Secrets).Scan(&j.ID, &j.Owner)
		if err != nil {
			return translate(err, fmt.Sprintf("job of user %d", j.OwnerID))
		}
		return insertTasks(ctx, tx, j)
	})
	return err
}

// taskChunk is how many tasks one INSERT stores. The statement text
// depends on the count, so chunking bounds the number of cached statements;
// most manifests fit in one chunk.
const taskChunk = 16

// insertTasks stores j's tasks, one multi-row INSERT per chunk.
func insertTasks(ctx context.Context, tx querier, j *build.Job) error {
	byName := make(map[string]*build.Task, len(j.Tasks))
	for i := range j.Tasks {
		t := &j.Tasks[i]
		t.JobID, t.Created, t.Updated = j.ID, j.Created, j.Created
		byName[t.Name] = t
	}
	for start := 0; start < len(j.Tasks); start += taskChunk {
		chunk := j.Tasks[start:min(start+taskChunk, len(j.Tasks))]
		if err := insertChunk(ctx, tx, j, chunk, byName); err != nil {
			return err
		}
	}
	return nil
}

func insertChunk(ctx context.Context, tx querier, j *build.Job, chunk []build.Task, byName map[string]*build.Task) error {
	var q strings.Builder
	q.WriteString(`INSERT INTO tasks (job_id, created, updated, name, status) VALUES `)
	args := make([]any, 0, 5*len(chunk))
	for i, t := range chunk {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString("(?,?,?,?,?)")
		args = append(args, j.ID, micros(t.Created), micros(t.Updated), t.Name, string(t.Status))
	}
	// RETURNING order is unspecified, so match rows by their unique name.
	q.WriteString(` RETURNING id, name`)
	rows, err := tx.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return translate(err, fmt.Sprintf("tasks of job %d", j.ID))
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return fmt.Errorf("insert tasks: %w", err)
		}
		byName[name].ID = id
	}
	return rows.Err()
}

// Job returns the job with its tasks.
func (d *DB) Job(ctx context.Context, id int64) (*build.Job, error) {
	return jobByID(ctx, d.rq, id)
}

func jobByID(ctx context.Context, q querier, id int64) (*build.Job, error) {
	j, err := scanJob(q.QueryRowContext(ctx, `SELECT `+jobCols+jobFrom+` WHERE j.id = ?`, id))
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
	rows, err := q.QueryContext(ctx, `SELECT id, job_id, created, updated, name, status FROM tasks
		WHERE job_id IN (SELECT value FROM json_each(?)) ORDER BY id`, jsonList(ids))
	if err != nil {
		return fmt.Errorf("load tasks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t build.Task
		var created, updated int64
		if err := rows.Scan(&t.ID, &t.JobID, &created, &updated, &t.Name, &t.Status); err != nil {
			return fmt.Errorf("load tasks: %w", err)
		}
		t.Created, t.Updated = fromMicros(created), fromMicros(updated)
		j := byID[t.JobID]
		j.Tasks = append(j.Tasks, t)
	}
	return rows.Err()
}
