package api

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"builds/internal/api/graph/model"
	"builds/internal/build"
	"builds/internal/store"
)

type queryResolver struct{ *Resolver }

func (r queryResolver) Version(ctx context.Context) (*model.Version, error) {
	major, minor, patch := parseVersion(r.opts.Version)
	return &model.Version{
		Major: major, Minor: minor, Patch: patch,
		Settings: &model.Settings{
			SSHUser:      r.opts.SSHUser,
			BuildTimeout: formatTimeout(r.opts.BuildTimeout),
		},
	}, nil
}

// parseVersion reads "1.2.3" (anything after the numbers, like "+abc" or
// "-rc1", is ignored); missing or unreadable parts are 0.
func parseVersion(v string) (major, minor, patch int64) {
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "+-"); i >= 0 {
		v = v[:i]
	}
	parts := strings.SplitN(v, ".", 3)
	nums := make([]int64, 3)
	for i, p := range parts {
		nums[i], _ = strconv.ParseInt(p, 10, 64)
	}
	return nums[0], nums[1], nums[2]
}

// formatTimeout writes a duration as builds.sr.ht's settings do, e.g. 45m.
func formatTimeout(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

func (r queryResolver) Me(ctx context.Context) (*build.User, error) {
	return me(ctx)
}

func (r queryResolver) UserByID(ctx context.Context, id int64) (*build.User, error) {
	return r.userByID(ctx, id)
}

func (r queryResolver) UserByName(ctx context.Context, username string) (*build.User, error) {
	name := strings.TrimPrefix(username, "~")
	u, err := r.opts.Store.UserByName(ctx, name)
	if err != nil {
		if build.ErrorCode(err) == build.ENOTFOUND {
			return nil, build.Errorf(build.ENOTFOUND, "no user named %q", name)
		}
		return nil, fmt.Errorf("read user %q: %w", name, err)
	}
	return u, nil
}

func (r queryResolver) Jobs(ctx context.Context, cursor *string) (*model.JobCursor, error) {
	u, err := me(ctx)
	if err != nil {
		return nil, err
	}
	return r.listJobs(ctx, store.JobFilter{OwnerID: u.ID}, cursor)
}

func (r queryResolver) Job(ctx context.Context, id int64) (*build.Job, error) {
	return r.jobByID(ctx, id)
}

func (r queryResolver) Secrets(ctx context.Context, cursor *string) (*model.SecretCursor, error) {
	before, err := decodeCursor(cursor)
	if err != nil {
		return nil, err
	}
	list, next, err := r.opts.Submit.Secrets(ctx, UserFromContext(ctx), before, pageSize)
	if err != nil {
		return nil, err
	}
	out := &model.SecretCursor{Results: make([]model.Secret, len(list)), Cursor: encodeCursor(next)}
	for i, s := range list {
		out.Results[i] = model.NewSecret(s)
	}
	return out, nil
}

func (r queryResolver) Webhook(ctx context.Context) (model.WebhookPayload, error) {
	return nil, build.Errorf(build.EINVALID, "the webhook field is only available in a webhook subscription's query")
}
