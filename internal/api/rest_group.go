package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"builds/internal/build"
	"builds/internal/submit"
)

func (s *server) visibleJob(ctx context.Context, r *http.Request) (*build.Job, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	return s.opts.Submit.Job(ctx, UserFromContext(ctx), id)
}

func (s *server) getJob(ctx context.Context, r *http.Request) (any, error) {
	j, err := s.visibleJob(ctx, r)
	if err != nil {
		return nil, err
	}
	return s.jobJSON(j), nil
}

func (s *server) getManifest(ctx context.Context, r *http.Request) (any, error) {
	j, err := s.visibleJob(ctx, r)
	if err != nil {
		return nil, err
	}
	return j.Manifest, nil
}

type artifactJSON struct {
	ID      int64   `json:"id"`
	Created string  `json:"created"`
	Path    string  `json:"path"`
	Name    string  `json:"name"`
	Size    int64   `json:"size"`
	URL     *string `json:"url"`
}

func (s *server) getArtifacts(ctx context.Context, r *http.Request) (any, error) {
	j, err := s.visibleJob(ctx, r)
	if err != nil {
		return nil, err
	}
	list, err := s.opts.Store.ListArtifacts(ctx, j.ID)
	if err != nil {
		return nil, fmt.Errorf("list artifacts of job %d: %w", j.ID, err)
	}
	out := make([]artifactJSON, len(list))
	for i, a := range list {
		out[i] = artifactJSON{ID: a.ID, Created: a.Created.UTC().Format(time.RFC3339),
			Path: a.Path, Name: a.Name, Size: a.Size, URL: optString(a.URL)}
	}
	// One page holds them all: a job has few artifacts (one per manifest
	// entry), so next is always null.
	return restPage{Results: out, Total: int64(len(out)), ResultsPerPage: max(restPageSize, len(out))}, nil
}

// jobAction adapts a submit.Service method that acts on one job. It
// answers {} as builds.sr.ht does.
func (s *server) jobAction(act func(context.Context, *build.User, int64) (*build.Job, error)) restHandler {
	return func(ctx context.Context, r *http.Request) (any, error) {
		id, err := pathID(r)
		if err != nil {
			return nil, err
		}
		if _, err := act(ctx, UserFromContext(ctx), id); err != nil {
			return nil, err
		}
		return struct{}{}, nil
	}
}

// groupJSON is a job group as the legacy API shows it.
type groupJSON struct {
	ID       int64         `json:"id"`
	Created  string        `json:"created"`
	Note     *string       `json:"note"`
	Owner    ownerJSON     `json:"owner"`
	Jobs     []jobJSON     `json:"jobs"`
	Triggers []triggerJSON `json:"triggers"`
}

// triggerJSON is a trigger in the shape of a manifest's triggers entry.
type triggerJSON struct {
	Action    string `json:"action"`
	Condition string `json:"condition"`
	To        string `json:"to,omitempty"`
	Cc        string `json:"cc,omitempty"`
	InReplyTo string `json:"in_reply_to,omitempty"`
	URL       string `json:"url,omitempty"`
}

func (t triggerJSON) trigger() build.Trigger {
	return build.Trigger{Action: build.TriggerAction(t.Action), Condition: build.TriggerCondition(t.Condition),
		To: t.To, Cc: t.Cc, InReplyTo: t.InReplyTo, URL: t.URL}
}

// groupJSON renders g with the jobs the caller may see.
func (s *server) groupJSON(ctx context.Context, g *build.Group) (groupJSON, error) {
	out := groupJSON{ID: g.ID, Created: g.Created.UTC().Format(time.RFC3339), Note: optString(g.Note),
		Jobs: []jobJSON{}, Triggers: []triggerJSON{}}
	owner, err := s.opts.Store.UserByID(ctx, g.OwnerID)
	if err != nil {
		return out, fmt.Errorf("read owner of group %d: %w", g.ID, err)
	}
	out.Owner = ownerJSON{CanonicalName: "~" + owner.Name, Name: owner.Name}
	for _, id := range g.JobIDs {
		j, err := s.opts.Submit.Job(ctx, UserFromContext(ctx), id)
		if build.ErrorCode(err) == build.ENOTFOUND {
			continue
		}
		if err != nil {
			return out, err
		}
		out.Jobs = append(out.Jobs, s.jobJSON(j))
	}
	for _, t := range g.Triggers {
		out.Triggers = append(out.Triggers, triggerJSON{Action: string(t.Action), Condition: string(t.Condition),
			To: t.To, Cc: t.Cc, InReplyTo: t.InReplyTo, URL: t.URL})
	}
	return out, nil
}

// postGroupBody is the body of POST /api/job-group.
type postGroupBody struct {
	Jobs     []int64       `json:"jobs"`
	Triggers []triggerJSON `json:"triggers"`
	Execute  *bool         `json:"execute"`
	Note     string        `json:"note"`
}

func (s *server) postGroup(ctx context.Context, r *http.Request) (any, error) {
	var body postGroupBody
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	// As on builds.sr.ht, a group's jobs start only when execute is true.
	in := submit.GroupInput{JobIDs: body.Jobs, Note: body.Note, Execute: deref(body.Execute, false)}
	for _, t := range body.Triggers {
		in.Triggers = append(in.Triggers, t.trigger())
	}
	g, err := s.opts.Submit.CreateGroup(ctx, UserFromContext(ctx), in)
	if err != nil {
		return nil, err
	}
	return s.groupJSON(ctx, g)
}

func (s *server) getGroup(ctx context.Context, r *http.Request) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	g, err := s.opts.Submit.Group(ctx, UserFromContext(ctx), id)
	if err != nil {
		return nil, err
	}
	return s.groupJSON(ctx, g)
}

// groupAction adapts a submit.Service method that acts on one group.
func (s *server) groupAction(act func(context.Context, *build.User, int64) (*build.Group, error)) restHandler {
	return func(ctx context.Context, r *http.Request) (any, error) {
		id, err := pathID(r)
		if err != nil {
			return nil, err
		}
		g, err := act(ctx, UserFromContext(ctx), id)
		if err != nil {
			return nil, err
		}
		return s.groupJSON(ctx, g)
	}
}
