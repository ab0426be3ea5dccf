package events

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"builds/internal/build"
	"builds/internal/manifest"
	"builds/internal/queue"
	"builds/internal/runner"
	"builds/internal/store"
)

// Payload is what a runner gets with a job, sealed into the queue with the
// network key: everything it needs to run the job without the database.
type Payload struct {
	Manifest   string         `json:"manifest"`
	Owner      string         `json:"owner"`
	Visibility string         `json:"visibility"`
	JobURL     string         `json:"job_url"`
	Secrets    []secretWire   `json:"secrets,omitempty"`
	OAuthToken string         `json:"oauth_token,omitempty"`
	Tags       []string       `json:"tags,omitempty"`
	Extra      map[string]any `json:"extra,omitempty"`
}

type secretWire struct {
	UUID string `json:"uuid"`
	Name string `json:"name,omitempty"`
	Kind string `json:"kind"`
	Path string `json:"path,omitempty"`
	Mode int    `json:"mode,omitempty"`
	Data []byte `json:"data"`
}

// Work converts the payload into what package runner runs.
func (p *Payload) Work() *runner.Work {
	w := &runner.Work{Manifest: p.Manifest, Owner: p.Owner, OAuthToken: p.OAuthToken}
	for _, s := range p.Secrets {
		w.Secrets = append(w.Secrets, build.Secret{
			UUID: s.UUID, Name: s.Name, Kind: build.SecretKind(s.Kind), Path: s.Path, Mode: s.Mode, Data: s.Data,
		})
	}
	return w
}

// Public reports whether anyone may read the job's logs without a token.
func (p *Payload) Public() bool {
	v := build.Visibility(p.Visibility)
	return v == build.Public || v == build.Unlisted
}

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
	p := Payload{Manifest: j.Manifest, Owner: j.Owner, Visibility: string(j.Visibility), Tags: j.Tags, JobURL: JobURL(ps.Origin, j.Owner, j.ID)}
	if j.Secrets {
		if err := ps.addSecrets(ctx, j, &p); err != nil {
			return nil, err
		}
	}
	return json.Marshal(&p)
}

func (ps *Payloads) addSecrets(ctx context.Context, j *build.Job, p *Payload) error {
	m, err := manifest.Parse([]byte(j.Manifest))
	if err != nil {
		return fmt.Errorf("parse manifest of job %d: %w", j.ID, err)
	}
	for _, ref := range m.Secrets {
		s, err := store.SecretByRef(ctx, ps.Store, j.OwnerID, ref)
		if err != nil {
			return fmt.Errorf("secret %q of job %d: %w", ref, j.ID, err)
		}
		p.Secrets = append(p.Secrets, secretWire{UUID: s.UUID, Name: s.Name, Kind: string(s.Kind), Path: s.Path, Mode: s.Mode, Data: s.Data})
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

// JobURL is a job's page on the master, as builds.sr.ht spells it.
func JobURL(origin, owner string, jobID int64) string {
	return strings.TrimRight(origin, "/") + "/~" + url.PathEscape(owner) + "/job/" + strconv.FormatInt(jobID, 10)
}
