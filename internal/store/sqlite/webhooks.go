package sqlite

import (
	"context"
	"fmt"

	"builds/internal/build"
	"builds/internal/store"
)

const webhookCols = `id, user_id, created, url, events, query`

func scanWebhook(row interface{ Scan(...any) error }) (*build.Webhook, error) {
	w := &build.Webhook{}
	var created int64
	var events string
	if err := row.Scan(&w.ID, &w.UserID, &created, &w.URL, &events, &w.Query); err != nil {
		return nil, err
	}
	w.Created = fromMicros(created)
	var err error
	if w.Events, err = decodeList(events); err != nil {
		return nil, fmt.Errorf("webhook %d: events: %w", w.ID, err)
	}
	return w, nil
}

// CreateWebhook stores w, filling ID and Created.
func (d *DB) CreateWebhook(ctx context.Context, w *build.Webhook) error {
	w.Created = store.Now()
	err := d.write(ctx, func(tx querier) error {
		return tx.QueryRowContext(ctx, `INSERT INTO webhooks (user_id, created, url, events, query)
			VALUES (?, ?, ?, ?, ?) RETURNING id`,
			w.UserID, micros(w.Created), w.URL, encodeList(w.Events), w.Query).Scan(&w.ID)
	})
	return translate(err, "webhook")
}

// Webhook returns the webhook with that ID.
func (d *DB) Webhook(ctx context.Context, id int64) (*build.Webhook, error) {
	w, err := scanWebhook(d.rq.QueryRowContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE id = ?`, id))
	return w, translate(err, fmt.Sprintf("webhook %d", id))
}

// ListWebhooks returns a user's webhooks, oldest first.
func (d *DB) ListWebhooks(ctx context.Context, userID int64) ([]*build.Webhook, error) {
	rows, err := d.rq.QueryContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	defer rows.Close()
	var out []*build.Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("list webhooks: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// DeleteWebhook deletes the user's webhook.
func (d *DB) DeleteWebhook(ctx context.Context, userID, id int64) error {
	what := fmt.Sprintf("webhook %d", id)
	return d.write(ctx, func(tx querier) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE id = ? AND user_id = ?`, id, userID)
		if err != nil {
			return translate(err, what)
		}
		return rowsAffected(res, what)
	})
}
