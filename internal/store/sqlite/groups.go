package sqlite

import (
	"context"
	"fmt"
	"slices"

	"builds/internal/build"
	"builds/internal/store"
)

// CreateGroup stores g with its triggers and puts its jobs in it.
func (d *DB) CreateGroup(ctx context.Context, g *build.Group) error {
	slices.Sort(g.JobIDs)
	g.JobIDs = slices.Compact(g.JobIDs)
	if len(g.JobIDs) == 0 {
		return build.Errorf(build.EINVALID, "a job group needs at least one job")
	}
	g.Created = store.Now()
	return d.write(ctx, func(tx querier) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO job_groups (created, owner_id, note) VALUES (?, ?, ?) RETURNING id`,
			micros(g.Created), g.OwnerID, g.Note).Scan(&g.ID)
		if err != nil {
			return translate(err, "job group")
		}
		for i, t := range g.Triggers {
			_, err := tx.ExecContext(ctx, `INSERT INTO group_triggers
				(group_id, position, action, condition, mail_to, mail_cc, in_reply_to, url)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				g.ID, i, t.Action, t.Condition, t.To, t.Cc, t.InReplyTo, t.URL)
			if err != nil {
				return translate(err, "group trigger")
			}
		}
		return claimJobs(ctx, tx, g)
	})
}

// claimJobs puts g's jobs in g, all or none.
func claimJobs(ctx context.Context, tx querier, g *build.Group) error {
	ids := jsonList(g.JobIDs)
	res, err := tx.ExecContext(ctx, `UPDATE jobs SET group_id = ? WHERE owner_id = ? AND group_id IS NULL
		AND id IN (SELECT value FROM json_each(?))`, g.ID, g.OwnerID, ids)
	if err != nil {
		return fmt.Errorf("group jobs: %w", err)
	}
	if n, _ := res.RowsAffected(); int(n) == len(g.JobIDs) {
		return nil
	}
	var owned int
	err = tx.QueryRowContext(ctx, `SELECT count(*) FROM jobs WHERE owner_id = ?
		AND id IN (SELECT value FROM json_each(?))`, g.OwnerID, ids).Scan(&owned)
	if err != nil {
		return fmt.Errorf("group jobs: %w", err)
	}
	if owned < len(g.JobIDs) {
		return build.Errorf(build.ENOTFOUND, "a job of the group does not exist or is not yours")
	}
	return build.Errorf(build.ECONFLICT, "a job of the group is already in another group")
}

// Group returns the group with its job IDs and triggers.
func (d *DB) Group(ctx context.Context, id int64) (*build.Group, error) {
	g := &build.Group{}
	var created int64
	err := d.rq.QueryRowContext(ctx, `SELECT id, created, owner_id, note FROM job_groups WHERE id = ?`, id).
		Scan(&g.ID, &created, &g.OwnerID, &g.Note)
	if err != nil {
		return nil, translate(err, fmt.Sprintf("job group %d", id))
	}
	g.Created = fromMicros(created)
	if g.JobIDs, err = groupJobs(ctx, d.rq, id); err != nil {
		return nil, err
	}
	rows, err := d.rq.QueryContext(ctx, `SELECT action, condition, mail_to, mail_cc, in_reply_to, url
		FROM group_triggers WHERE group_id = ? ORDER BY position`, id)
	if err != nil {
		return nil, fmt.Errorf("group triggers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t build.Trigger
		if err := rows.Scan(&t.Action, &t.Condition, &t.To, &t.Cc, &t.InReplyTo, &t.URL); err != nil {
			return nil, fmt.Errorf("group triggers: %w", err)
		}
		g.Triggers = append(g.Triggers, t)
	}
	return g, rows.Err()
}

func groupJobs(ctx context.Context, q querier, id int64) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT id FROM jobs WHERE group_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("group jobs: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var jid int64
		if err := rows.Scan(&jid); err != nil {
			return nil, fmt.Errorf("group jobs: %w", err)
		}
		ids = append(ids, jid)
	}
	return ids, rows.Err()
}

// ClaimGroupTriggers returns true to the first caller only.
func (d *DB) ClaimGroupTriggers(ctx context.Context, id int64) (bool, error) {
	var first bool
	err := d.write(ctx, func(tx querier) error {
		res, err := tx.ExecContext(ctx, `UPDATE job_groups SET fired = 1 WHERE id = ? AND fired = 0`, id)
		if err != nil {
			return fmt.Errorf("claim group triggers: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			first = true
			return nil
		}
		var one int
		return translate(tx.QueryRowContext(ctx, `SELECT 1 FROM job_groups WHERE id = ?`, id).Scan(&one),
			fmt.Sprintf("job group %d", id))
	})
	return first, err
}
