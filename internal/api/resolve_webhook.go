package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"builds/internal/api/graph"
	"builds/internal/api/graph/model"
	"builds/internal/build"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

type sshKeyResolver struct{ *Resolver }

func (r sshKeyResolver) Name(ctx context.Context, s *model.SSHKey) (*string, error) {
	return optString(s.Name), nil
}

func (r sshKeyResolver) FromUser(ctx context.Context, s *model.SSHKey) (model.Entity, error) {
	return nil, nil
}

type pgpKeyResolver struct{ *Resolver }

func (r pgpKeyResolver) Name(ctx context.Context, s *model.PGPKey) (*string, error) {
	return optString(s.Name), nil
}

func (r pgpKeyResolver) FromUser(ctx context.Context, s *model.PGPKey) (model.Entity, error) {
	return nil, nil
}

type secretFileResolver struct{ *Resolver }

func (r secretFileResolver) Name(ctx context.Context, s *model.SecretFile) (*string, error) {
	return optString(s.Name), nil
}

func (r secretFileResolver) FromUser(ctx context.Context, s *model.SecretFile) (model.Entity, error) {
	return nil, nil
}

// eventScopes is the grant each webhook event concerns: reading a
// subscription to it needs that grant read-only, creating or deleting one
// needs it read-write, since a subscription acts on the account for as
// long as it exists.
var eventScopes = map[model.WebhookEvent]build.Scope{
	model.WebhookEventJobCreated:       build.ScopeJobs,
	model.WebhookEventJobStatusChanged: build.ScopeJobs,
}

// webhookAccess checks the caller's grants for the given events (every
// event when none are given).
func webhookAccess(ctx context.Context, write bool, events ...model.WebhookEvent) error {
	if len(events) == 0 {
		events = model.AllWebhookEvent
	}
	for _, e := range events {
		if sc, ok := eventScopes[e]; ok {
			if err := allows(ctx, sc, write); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r queryResolver) UserWebhooks(ctx context.Context, cursor *string) (*model.WebhookSubscriptionCursor, error) {
	u, err := me(ctx)
	if err != nil {
		return nil, err
	}
	if err := webhookAccess(ctx, false); err != nil {
		return nil, err
	}
	list, err := r.opts.Store.ListWebhooks(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	out := &model.WebhookSubscriptionCursor{Results: make([]model.WebhookSubscription, len(list))}
	for i, w := range list {
		out.Results[i] = w
	}
	return out, nil
}

func (r queryResolver) UserWebhook(ctx context.Context, id int64) (model.WebhookSubscription, error) {
	return r.ownWebhook(ctx, id)
}

// ownWebhook returns the caller's webhook with the given ID.
func (r *Resolver) ownWebhook(ctx context.Context, id int64) (*build.Webhook, error) {
	u, err := me(ctx)
	if err != nil {
		return nil, err
	}
	if err := webhookAccess(ctx, false); err != nil {
		return nil, err
	}
	w, err := r.opts.Store.Webhook(ctx, id)
	if err != nil && build.ErrorCode(err) != build.ENOTFOUND {
		return nil, fmt.Errorf("read webhook %d: %w", id, err)
	}
	if w == nil || w.UserID != u.ID {
		return nil, build.Errorf(build.ENOTFOUND, "you have no webhook with ID %d", id)
	}
	return w, nil
}

func (r mutationResolver) CreateUserWebhook(ctx context.Context, config model.UserWebhookInput) (model.WebhookSubscription, error) {
	u, err := me(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkWebhook(config); err != nil {
		return nil, err
	}
	if err := webhookAccess(ctx, true, config.Events...); err != nil {
		return nil, err
	}
	w := &build.Webhook{UserID: u.ID, URL: config.URL, Query: config.Query}
	for _, e := range config.Events {
		w.Events = append(w.Events, string(e))
	}
	if err := r.opts.Store.CreateWebhook(ctx, w); err != nil {
		return nil, fmt.Errorf("store webhook: %w", err)
	}
	return w, nil
}

func (r mutationResolver) DeleteUserWebhook(ctx context.Context, id int64) (model.WebhookSubscription, error) {
	w, err := r.ownWebhook(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := webhookAccess(ctx, true, eventsOf(w)...); err != nil {
		return nil, err
	}
	if err := r.opts.Store.DeleteWebhook(ctx, w.UserID, id); err != nil {
		return nil, fmt.Errorf("delete webhook %d: %w", id, err)
	}
	return w, nil
}

// checkWebhook validates a subscription: an http(s) URL, at least one
// event with none twice, and a query that is valid against our schema
// and makes no changes.
func checkWebhook(c model.UserWebhookInput) error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return build.Errorf(build.EINVALID, "webhook url %q must be an http or https URL", c.URL)
	}
	if len(c.Events) == 0 {
		return build.Errorf(build.EINVALID, "a webhook needs at least one event")
	}
	seen := map[model.WebhookEvent]bool{}
	for _, e := range c.Events {
		if seen[e] {
			return build.Errorf(build.EINVALID, "event %s is listed twice", e)
		}
		seen[e] = true
	}
	doc, errs := gqlparser.LoadQueryWithRules(schema(), c.Query, rules.NewDefaultRules())
	if len(errs) > 0 {
		return build.Errorf(build.EINVALID, "webhook query: %s", errs.Error())
	}
	for _, op := range doc.Operations {
		if op.Operation != ast.Query {
			return build.Errorf(build.EINVALID, "a webhook query may not be a %s", op.Operation)
		}
	}
	return nil
}

// schema returns the parsed GraphQL schema.
func schema() *ast.Schema {
	return graph.NewExecutableSchema(graph.Config{}).Schema()
}

// eventsOf returns w's events that are known.
func eventsOf(w *build.Webhook) []model.WebhookEvent {
	out := make([]model.WebhookEvent, 0, len(w.Events))
	for _, e := range w.Events {
		if ev := model.WebhookEvent(e); ev.IsValid() {
			out = append(out, ev)
		}
	}
	return out
}

type webhookResolver struct{ *Resolver }

func (r webhookResolver) Events(ctx context.Context, w *build.Webhook) ([]model.WebhookEvent, error) {
	return eventsOf(w), nil
}

func (r webhookResolver) Client(ctx context.Context, w *build.Webhook) (*model.OAuthClient, error) {
	return nil, nil
}

// Deliveries is empty: delivery records are not kept yet.
func (r webhookResolver) Deliveries(ctx context.Context, w *build.Webhook, cursor *string) (*model.WebhookDeliveryCursor, error) {
	return &model.WebhookDeliveryCursor{Results: []*model.WebhookDelivery{}}, nil
}

// Sample returns an example of the event envelope the subscription's URL
// receives.
func (r webhookResolver) Sample(ctx context.Context, w *build.Webhook, event model.WebhookEvent) (string, error) {
	b, err := json.Marshal(map[string]any{
		"uuid":  "00000000-0000-0000-0000-000000000000",
		"event": event,
		"date":  time.Now().UTC().Format(model.TimeFormat),
		"job":   map[string]any{"id": 1, "status": "QUEUED"},
	})
	return string(b), err
}
