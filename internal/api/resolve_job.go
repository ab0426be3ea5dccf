package api

import (
	"context"
	"fmt"
	"time"

	"builds/internal/api/graph/model"
	"builds/internal/build"
	"builds/internal/store"
	"builds/internal/submit"
)

type jobResolver struct{ *Resolver }

func (r jobResolver) Note(ctx context.Context, j *build.Job) (*string, error) {
	return optString(j.Note), nil
}

func (r jobResolver) Runner(ctx context.Context, j *build.Job) (*string, error) {
	return optString(j.Runner), nil
}

func (r jobResolver) Owner(ctx context.Context, j *build.Job) (model.Entity, error) {
	return r.userByID(ctx, j.OwnerID)
}

func (r jobResolver) Group(ctx context.Context, j *build.Job) (*build.Group, error) {
	if j.GroupID == 0 {
		return nil, nil
	}
	g, err := r.opts.Store.Group(ctx, j.GroupID)
	if err != nil {
		return nil, fmt.Errorf("read group %d: %w", j.GroupID, err)
	}
	return submit.GroupView(g, UserFromContext(ctx)), nil
}

func (r jobResolver) Tasks(ctx context.Context, j *build.Job) ([]*build.Task, error) {
	remember(ctx, j)
	out := make([]*build.Task, len(j.Tasks))
	for i := range j.Tasks {
		out[i] = &j.Tasks[i]
		if out[i].JobID == 0 {
			out[i].JobID = j.ID
		}
	}
	return out, nil
}

func (r jobResolver) Artifacts(ctx context.Context, j *build.Job) ([]*build.Artifact, error) {
	list, err := r.opts.Store.ListArtifacts(ctx, j.ID)
	if err != nil {
		return nil, fmt.Errorf("list artifacts of job %d: %w", j.ID, err)
	}
	return list, nil
}

func (r jobResolver) Log(ctx context.Context, j *build.Job) (*model.Log, error) {
	if !hasLog(j) || r.opts.Logs == nil {
		return nil, nil
	}
	return &model.Log{Job: j}, nil
}

// hasLog reports whether a runner may have written logs for the job: not
// before one took it, nor when it was cancelled before any did.
func hasLog(j *build.Job) bool {
	switch j.Status {
	case build.JobPending, build.JobQueued:
		return false
	case build.JobCancelled:
		return j.Runner != ""
	}
	return true
}

func (r jobResolver) Secrets(ctx context.Context, j *build.Job) ([]model.Secret, error) {
	list, err := r.opts.Submit.JobSecrets(ctx, UserFromContext(ctx), j)
	if err != nil || list == nil {
		return nil, err
	}
	out := make([]model.Secret, len(list))
	for i, s := range list {
		out[i] = model.NewSecret(s)
	}
	return out, nil
}

type taskResolver struct{ *Resolver }

func (r taskResolver) Log(ctx context.Context, t *build.Task) (*model.Log, error) {
	j, err := r.jobByID(ctx, t.JobID)
	if err != nil {
		return nil, err
	}
	if !hasLog(j) || r.opts.Logs == nil {
		return nil, nil
	}
	return &model.Log{Job: j, Task: t}, nil
}

func (r taskResolver) Job(ctx context.Context, t *build.Task) (*build.Job, error) {
	return r.jobByID(ctx, t.JobID)
}

type logResolver struct{ *Resolver }

// Last128KiB reads a log's tail within the request's log budget: a
// response carries at most Limits.MaxLogBytes of log text.
func (r logResolver) Last128KiB(ctx context.Context, l *model.Log) (string, error) {
	b := budgetFrom(ctx)
	if b != nil {
		if err := b.take(ctx, tailBytes); err != nil {
			return "", build.Errorf(build.ELIMIT, "%s", err)
		}
	}
	s, err := r.opts.Logs.Last128KiB(ctx, l.Job, l.Task)
	if b != nil {
		b.refund(tailBytes - int64(min(len(s), tailBytes)))
	}
	if err != nil {
		return "", fmt.Errorf("read log of job %d: %w", l.Job.ID, err)
	}
	return s, nil
}

func (r logResolver) FullURL(ctx context.Context, l *model.Log) (string, error) {
	return r.opts.Logs.FullURL(l.Job, l.Task), nil
}

type artifactResolver struct{ *Resolver }

func (r artifactResolver) URL(ctx context.Context, a *build.Artifact) (*string, error) {
	return optString(a.URL), nil
}

type groupResolver struct{ *Resolver }

func (r groupResolver) Note(ctx context.Context, g *build.Group) (*string, error) {
	return optString(g.Note), nil
}

func (r groupResolver) Owner(ctx context.Context, g *build.Group) (model.Entity, error) {
	return r.userByID(ctx, g.OwnerID)
}

// Jobs lists the group's jobs that the caller may see.
func (r groupResolver) Jobs(ctx context.Context, g *build.Group) ([]*build.Job, error) {
	out := make([]*build.Job, 0, len(g.JobIDs))
	for _, id := range g.JobIDs {
		j, err := r.jobByID(ctx, id)
		if build.ErrorCode(err) == build.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

func (r groupResolver) Triggers(ctx context.Context, g *build.Group) ([]model.Trigger, error) {
	out := make([]model.Trigger, len(g.Triggers))
	for i, t := range g.Triggers {
		out[i] = model.NewTrigger(t)
	}
	return out, nil
}

type emailTriggerResolver struct{ *Resolver }

func (r emailTriggerResolver) Cc(ctx context.Context, t *model.EmailTrigger) (*string, error) {
	return optString(t.Cc), nil
}

func (r emailTriggerResolver) InReplyTo(ctx context.Context, t *model.EmailTrigger) (*string, error) {
	return optString(t.InReplyTo), nil
}

type userResolver struct{ *Resolver }

func (r userResolver) Updated(ctx context.Context, u *build.User) (*time.Time, error) {
	t := u.Created
	return &t, nil
}

func (r userResolver) CanonicalName(ctx context.Context, u *build.User) (string, error) {
	return "~" + u.Name, nil
}

func (r userResolver) Username(ctx context.Context, u *build.User) (string, error) {
	return u.Name, nil
}

func (r userResolver) URL(ctx context.Context, u *build.User) (*string, error)      { return nil, nil }
func (r userResolver) Location(ctx context.Context, u *build.User) (*string, error) { return nil, nil }
func (r userResolver) Bio(ctx context.Context, u *build.User) (*string, error)      { return nil, nil }

// Jobs lists u's jobs: all of them when u is the caller, otherwise only
// the public ones (unlisted jobs are never listed).
func (r userResolver) Jobs(ctx context.Context, u *build.User, cursor *string) (*model.JobCursor, error) {
	f := store.JobFilter{OwnerID: u.ID}
	if me := UserFromContext(ctx); me == nil || me.ID != u.ID {
		f.Visibility = []build.Visibility{build.Public}
	}
	return r.listJobs(ctx, f, cursor)
}

// listJobs returns one page of jobs matching f.
func (r *Resolver) listJobs(ctx context.Context, f store.JobFilter, cursor *string) (*model.JobCursor, error) {
	before, err := decodeCursor(cursor)
	if err != nil {
		return nil, err
	}
	f.Before, f.Limit = before, pageSize
	jobs, next, err := r.opts.Store.ListJobs(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	remember(ctx, jobs...)
	return &model.JobCursor{Results: jobs, Cursor: encodeCursor(next)}, nil
}

// Email shows a user's address to that user only, so that addresses
// cannot be harvested through the API.
func (r userResolver) Email(ctx context.Context, u *build.User) (string, error) {
	if me := UserFromContext(ctx); me != nil && me.ID == u.ID {
		return u.Email, nil
	}
	return "", nil
}
