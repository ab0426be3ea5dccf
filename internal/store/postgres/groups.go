package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"builds/internal/build"
	"builds/internal/store"
)

// CreateGroup stores g with its triggers and puts its jobs in it, in one
// transaction.
func (d *DB) CreateGroup(ctx context.Context, g *build.Group) error {
	slices.Sort(g.JobIDs)
	g.JobIDs = slices.Compact(g.JobIDs)
	if len(g.JobIDs) == 0 {
		return build.Errorf(build.EINVALID, "a job group needs at least one job")
	}
	g.Created = store.Now()
	return d.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO job_groups (created, owner_id, note) VALUES ($1, $2, $3) RETURNING id`,
			g.Created, g.OwnerID, g.Note).Scan(&g.ID)
		if err != nil {
			return translate(err, "job group")
		}
		for i, t := range g.Triggers {
			_, err := tx.Exec(ctx, `INSERT INTO group_triggers
				(group_id, position, action, condition, mail_to, mail_cc, in_reply_to, url)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				g.ID, i, string(t.Action), string(t.Condition), t.To, t.Cc, t.InReplyTo, t.URL)
			if err != nil {
				return translate(err, "group trigger")
			}
		}
		return claimJobs(ctx, tx, g)
	})
}

// claimJobs puts g's jobs in g, all or none.
func claimJobs(ctx context.Context, tx pgx.Tx, g *build.Group) error {
	tag, err := tx.Exec(ctx, `UPDATE jobs SET group_id = $1 WHERE owner_id = $2 AND group_id IS NULL
		AND id = ANY($3)`, g.ID, g.OwnerID, g.JobIDs)
	if err != nil {
		return fmt.Errorf("group jobs: %w", err)
	}
	if int(tag.RowsAffected()) == len(g.JobIDs) {
		return nil
	}
	var owned int
	err = tx.QueryRow(ctx, `SELECT count(*) FROM jobs WHERE owner_id = $1 AND id = ANY($2)`,
		g.OwnerID, g.JobIDs).Scan(&owned)
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
	err := d.pool.QueryRow(ctx, `SELECT id, created, owner_id, note FROM job_groups WHERE id = $1`, id).
		Scan(&g.ID, &g.Created, &g.OwnerID, &g.Note)
	if err != nil {
		return nil, translate(err, fmt.Sprintf("job group %d", id))
	}
	g.Created = g.Created.UTC()
	rows, err := d.pool.Query(ctx, `SELECT id FROM jobs WHERE group_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("group jobs: %w", err)
	}
	if g.JobIDs, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
		return nil, fmt.Errorf("group jobs: %w", err)
	}
	rows, err = d.pool.Query(ctx, `SELECT action, condition, mail_to, mail_cc, in_reply_to, url
		FROM group_triggers WHERE group_id = $1 ORDER BY position`, id)
	if err != nil {
		return nil, fmt.Errorf("group triggers: %w", err)
	}
	g.Triggers, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (build.Trigger, error) {
		var t build.Trigger
		err := r.Scan(&t.Action, &t.Condition, &t.To, &t.Cc, &t.InReplyTo, &t.URL)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("group triggers: %w", err)
	}
	if len(g.Triggers) == 0 {
		g.Triggers = nil
	}
	return g, nil
}

// ClaimGroupTriggers returns true to the first caller only.
func (d *DB) ClaimGroupTriggers(ctx context.Context, id int64) (bool, error) {
	tag, err := d.pool.Exec(ctx, `UPDATE job_groups SET fired = true WHERE id = $1 AND NOT fired`, id)
	if err != nil {
		return false, fmt.Errorf("claim group triggers: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	var one int
	err = d.pool.QueryRow(ctx, `SELECT 1 FROM job_groups WHERE id = $1`, id).Scan(&one)
	return false, translate(err, fmt.Sprintf("job group %d", id))
}
