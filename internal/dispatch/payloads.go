package dispatch

import (
	"builds/internal/build"
	"builds/internal/manifest"
	"builds/internal/queue"
	"builds/internal/store"
	"builds/internal/wire"
	"context"
	"encoding/json"
	"fmt"
)

// PayloadStore is what Payloads reads.
type PayloadStore interface {
	Job(ctx context.Context, id int64) (*build.Job, error)
	Secret(ctx context.Context, uuid string) (*build.Secret, error)
	SecretByName(ctx context.Context, ownerID int64, name string) (*build.Secret, error)
}

var _ PayloadStore = store.Store(nil)

// Payloads builds payloads on the master; its Build method is the redis
// queue's Options.Payload hook.
type Payloads struct {
	Store  PayloadStore
	Origin string // the master's public URL, for JOB_URL
	// OAuthToken, when set, mints the token exported as OAUTH2_TOKEN for
	// jobs whose manifest asks for grants (only with secrets enabled).
	OAuthToken func(ctx context.Context, j *build.Job, grants string) (string, error)
}

// Build returns the encoded payload of the queued job it.
func (ps *Payloads) Build(ctx context.Context, it queue.Item) ([]byte, error) {
	j, err := ps.Store.Job(ctx, it.JobID)
	if err != nil {
		return nil, fmt.Errorf("load job %d: %w", it.JobID, err)
	}
	p := wire.Payload{Manifest: j.Manifest, Owner: j.Owner, Visibility: string(j.Visibility), Tags: j.Tags, JobURL: wire.JobURL(ps.Origin, j.Owner, j.ID)}
	if j.Secrets {
		if err := ps.addSecrets(ctx, j, &p); err != nil {
			return nil, err
		}
	}
	return json.Marshal(&p)
}

func (ps *Payloads) addSecrets(ctx context.Context, j *build.Job, p *wire.Payload) error {
	m, err := manifest.Parse([]byte(j.Manifest))
	if err != nil {
		return fmt.Errorf("parse manifest of job %d: %w", j.ID, err)
	}
	for _, ref := range m.Secrets {
		s, err := store.SecretByRef(ctx, ps.Store, j.OwnerID, ref)
		if err != nil {
			return fmt.Errorf("secret %q of job %d: %w", ref, j.ID, err)
		}
		p.Secrets = append(p.Secrets, wire.SecretWire{UUID: s.UUID, Name: s.Name, Kind: string(s.Kind), Path: s.Path, Mode: s.Mode, Data: s.Data})
	}
	if m.OAuth != "" && ps.OAuthToken != nil {
		tok, err := ps.OAuthToken(ctx, j, m.OAuth)
		if err != nil {
			return fmt.Errorf("mint oauth token for job %d: %w", j.ID, err)
		}
		p.OAuthToken = tok
	}
	return nil
}
