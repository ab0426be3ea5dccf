package lifecycle

import (
	"context"
	"fmt"

	"builds/internal/build"
	"builds/internal/manifest"
	"builds/internal/store"
)

// Work is what a runner needs of a job besides its ID, loaded in one
// place for both modes: the in-process runner gets it directly, a remote
// runner sealed into its queue item.
type Work struct {
	Job      *build.Job
	Manifest *manifest.Manifest // parsed once, here; nil when it no longer parses
	// Secrets are the job's secrets with their plaintext, in manifest
	// order; empty when secrets are disabled for the job.
	Secrets []build.Secret
}

// WorkStore is what LoadWork reads.
type WorkStore interface {
	Job(ctx context.Context, id int64) (*build.Job, error)
	store.SecretReader
}

// LoadWork reads job id, parses its manifest and, when the job may use
// secrets, resolves the manifest's secret references among the owner's
// secrets (by UUID or name).
func LoadWork(ctx context.Context, st WorkStore, id int64) (*Work, error) {
	j, err := st.Job(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load job %d: %w", id, err)
	}
	m, err := manifest.Parse([]byte(j.Manifest))
	if err != nil && !j.Secrets {
		// Stored before a rule tightened: the runner reports why in the
		// job's log.
		return &Work{Job: j}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("parse the manifest of job %d: %w", id, err)
	}
	w := &Work{Job: j, Manifest: m}
	if !j.Secrets {
		return w, nil
	}
	for _, ref := range m.Secrets {
		s, err := store.SecretByRef(ctx, st, j.OwnerID, ref)
		if err != nil {
			return nil, fmt.Errorf("secret %q of job %d: %w", ref, id, err)
		}
		w.Secrets = append(w.Secrets, *s)
	}
	return w, nil
}

// LoadWork is LoadWork on the Lifecycle's store.
func (l *Lifecycle) LoadWork(ctx context.Context, id int64) (*Work, error) {
	return LoadWork(ctx, l.opts.Store, id)
}
