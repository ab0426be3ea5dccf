package api

import (
	"context"

	"builds/internal/api/graph/model"
	"builds/internal/build"
	"builds/internal/submit"
)

type mutationResolver struct{ *Resolver }

// Submit applies builds.sr.ht's defaults: execute unless told otherwise,
// and secrets as secretsDefault decides, unless told otherwise.
func (r mutationResolver) Submit(ctx context.Context, manifest string, tags []string, note *string,
	secrets *bool, execute *bool, visibility *build.Visibility) (*build.Job, error) {
	user, err := me(ctx)
	if err != nil {
		return nil, err
	}
	canReadSecrets := allows(ctx, build.ScopeSecrets, false) == nil
	if secrets != nil && *secrets && !canReadSecrets {
		return nil, allows(ctx, build.ScopeSecrets, false)
	}
	in := submit.SubmitInput{
		Manifest:   manifest,
		Tags:       tags,
		Note:       deref(note, ""),
		Secrets:    deref(secrets, canReadSecrets && secretsDefault(ctx, manifest)),
		Execute:    deref(execute, true),
		Visibility: deref(visibility, ""),
	}
	j, err := r.opts.Submit.Submit(ctx, user, in)
	if err != nil {
		return nil, err
	}
	remember(ctx, j)
	return j, nil
}

func (r mutationResolver) Start(ctx context.Context, jobID int64) (*build.Job, error) {
	return r.opts.Submit.Start(ctx, UserFromContext(ctx), jobID)
}

func (r mutationResolver) Cancel(ctx context.Context, jobID int64) (*build.Job, error) {
	return r.opts.Submit.Cancel(ctx, UserFromContext(ctx), jobID)
}

func (r mutationResolver) CreateGroup(ctx context.Context, jobIds []int64, triggers []*model.TriggerInput,
	execute *bool, note *string) (*build.Group, error) {
	in := submit.GroupInput{JobIDs: jobIds, Note: deref(note, ""), Execute: deref(execute, true)}
	for i, t := range triggers {
		tr, err := triggerFromInput(t)
		if err != nil {
			return nil, build.Errorf(build.EINVALID, "triggers[%d]: %s", i, build.ErrorMessage(err))
		}
		in.Triggers = append(in.Triggers, tr)
	}
	return r.opts.Submit.CreateGroup(ctx, UserFromContext(ctx), in)
}

// triggerFromInput checks that the input's details match its type.
func triggerFromInput(in *model.TriggerInput) (build.Trigger, error) {
	t := build.Trigger{Action: in.Type, Condition: in.Condition}
	switch in.Type {
	case build.TriggerEmail:
		if in.Email == nil {
			return t, build.Errorf(build.EINVALID, "an EMAIL trigger needs the email field")
		}
		t.To, t.Cc, t.InReplyTo = in.Email.To, deref(in.Email.Cc, ""), deref(in.Email.InReplyTo, "")
	case build.TriggerWebhook:
		if in.Webhook == nil {
			return t, build.Errorf(build.EINVALID, "a WEBHOOK trigger needs the webhook field")
		}
		t.URL = in.Webhook.URL
	}
	return t, nil
}

func (r mutationResolver) StartGroup(ctx context.Context, groupID int64) (*build.Group, error) {
	return r.opts.Submit.StartGroup(ctx, UserFromContext(ctx), groupID)
}

func (r mutationResolver) CancelGroup(ctx context.Context, groupID int64) (*build.Group, error) {
	return r.opts.Submit.CancelGroup(ctx, UserFromContext(ctx), groupID)
}

func (r mutationResolver) ShareSecret(ctx context.Context, uuid string, user string) (model.Secret, error) {
	s, err := r.opts.Submit.ShareSecret(ctx, UserFromContext(ctx), uuid, user)
	if err != nil {
		return nil, err
	}
	return model.NewSecret(s), nil
}

func (r mutationResolver) CreateSecret(ctx context.Context, kind build.SecretKind, data []byte,
	name *string, path *string, mode *int64, uuid *string) (model.Secret, error) {
	in := submit.SecretInput{Kind: kind, Data: data, Name: deref(name, ""), Path: deref(path, ""), Mode: int(deref(mode, 0)),
		UUID: deref(uuid, "")}
	s, err := r.opts.Submit.CreateSecret(ctx, UserFromContext(ctx), in)
	if err != nil {
		return nil, err
	}
	return model.NewSecret(s), nil
}

func (r mutationResolver) DeleteSecret(ctx context.Context, uuid string) (model.Secret, error) {
	s, err := r.opts.Submit.DeleteSecret(ctx, UserFromContext(ctx), uuid)
	if err != nil {
		return nil, err
	}
	return model.NewSecret(s), nil
}
