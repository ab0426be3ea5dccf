package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"builds/internal/build"
	"builds/internal/store"
)

const webhookCols = `id, user_id, created, url, events, query`

func scanWebhook(row pgx.Row) (*build.Webhook, error) {
	w := &build.Webhook{}
	if err := row.Scan(&w.ID, &w.UserID, &w.Created, &w.URL, &w.Events, &w.Query); err != nil {
		return nil, err
	}
	w.Created, w.Events = w.Created.UTC(), list(w.Events)
	return w, nil
}

// CreateWebhook stores w, filling ID and Created.
func (d *DB) CreateWebhook(ctx context.Context, w *build.Webhook) error {
	w.Created = store.Now()
	events := w.Events
	if events == nil {
		events = []string{}
	}
	err := d.pool.QueryRow(ctx, `INSERT INTO webhooks (user_id, created, url, events, query)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, w.UserID, w.Created, w.URL, events, w.Query).Scan(&w.ID)
	return translate(err, "webhook")
}

// Webhook returns the webhook with that ID.
func (d *DB) Webhook(ctx context.Context, id int64) (*build.Webhook, error) {
	w, err := scanWebhook(d.pool.QueryRow(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE id = $1`, id))
	return w, translate(err, fmt.Sprintf("webhook %d", id))
}

// ListWebhooks returns a user's webhooks, oldest first.
func (d *DB) ListWebhooks(ctx context.Context, userID int64) ([]*build.Webhook, error) {
	rows, err := d.pool.Query(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE user_id = $1 ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*build.Webhook, error) { return scanWebhook(r) })
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return out, nil
}

// DeleteWebhook deletes the user's webhook.
func (d *DB) DeleteWebhook(ctx context.Context, userID, id int64) error {
	tag, err := d.pool.Exec(ctx, `DELETE FROM webhooks WHERE id = $1 AND user_id = $2`, id, userID)
	return affected(tag, err, fmt.Sprintf("webhook %d", id))
}
