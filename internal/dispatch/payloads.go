package dispatch

import (
	"context"
	"encoding/json"
	"fmt"

	"builds/internal/build"
	"builds/internal/lifecycle"
	"builds/internal/queue"
	"builds/internal/store"
	"builds/internal/wire"
)

// PayloadStore is what Payloads reads.
type PayloadStore = lifecycle.WorkStore

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

// Build returns the encoded payload of the queued job it: its work as
// lifecycle.LoadWork loads it for either mode.
func (ps *Payloads) Build(ctx context.Context, it queue.Item) ([]byte, error) {
	w, err := lifecycle.LoadWork(ctx, ps.Store, it.JobID)
	if err != nil {
		return nil, err
	}
	j := w.Job
	p := wire.Payload{Manifest: j.Manifest, Owner: j.Owner, Visibility: string(j.Visibility), Tags: j.Tags, JobURL: wire.JobURL(ps.Origin, j.Owner, j.ID)}
	for _, s := range w.Secrets {
		p.Secrets = append(p.Secrets, wire.SecretWire{UUID: s.UUID, Name: s.Name, Kind: string(s.Kind), Path: s.Path, Mode: s.Mode, Data: s.Data})
	}
	if j.Secrets && w.Manifest != nil && w.Manifest.OAuth != "" && ps.OAuthToken != nil {
		tok, err := ps.OAuthToken(ctx, j, w.Manifest.OAuth)
		if err != nil {
			return nil, fmt.Errorf("mint oauth token for job %d: %w", j.ID, err)
		}
		p.OAuthToken = tok
	}
	return json.Marshal(&p)
}
