package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"builds/internal/api"
	"builds/internal/build"
	"builds/internal/lifecycle"
	"builds/internal/store"
)

// jobTokens mints the OAuth token a manifest's oauth key asks for (the
// job's owner's, limited to the listed grants this service understands),
// and revokes it when the job ends. The token also expires on its own a
// little after the longest a job can run, in case the revocation is missed
// (e.g. the master stopped meanwhile).
type jobTokens struct {
	store store.Tokens
	// lifetime bounds the token's life: the build timeout plus the setup
	// timeout and a margin.
	lifetime time.Duration
}

// jobTokenName names a job's token in its owner's token list, where the
// owner can see it while the job runs.
func jobTokenName(jobID int64) string { return fmt.Sprintf("OAuth token of job #%d", jobID) }

// mint creates the token of job j with grants (as manifest.Manifest.OAuth
// holds them) and returns its value. grants must not be empty: an empty
// grant list would mean every grant.
func (t jobTokens) mint(ctx context.Context, j *build.Job, grants string) (string, error) {
	if grants == "" {
		return "", nil
	}
	gs, err := build.ParseGrants(grants)
	if err != nil {
		return "", fmt.Errorf("parse oauth grants of job %d: %w", j.ID, err)
	}
	value, hash, err := api.NewToken()
	if err != nil {
		return "", err
	}
	tok := &build.Token{UserID: j.OwnerID, Name: jobTokenName(j.ID), Grants: gs, Expires: time.Now().Add(t.lifetime)}
	if err := t.store.CreateToken(ctx, tok, hash); err != nil {
		return "", fmt.Errorf("store oauth token of job %d: %w", j.ID, err)
	}
	return value, nil
}

// revoke removes the token of job j, if it has one. Failures are logged:
// the token still expires on its own.
func (t jobTokens) revoke(ctx context.Context, j *build.Job) {
	toks, err := t.store.ListTokens(ctx, j.OwnerID)
	if err != nil {
		slog.Error("list tokens to revoke a job's oauth token", "job", j.ID, "err", err)
		return
	}
	for _, tok := range toks {
		if tok.Name != jobTokenName(j.ID) {
			continue
		}
		if err := t.store.RevokeToken(ctx, j.OwnerID, tok.ID); err != nil && build.ErrorCode(err) != build.ENOTFOUND {
			slog.Error("revoke a job's oauth token", "job", j.ID, "err", err)
		}
	}
}

// jobTokens returns the master's minter of job tokens.
func (m *master) jobTokens() jobTokens {
	return jobTokens{store: m.store, lifetime: m.cfg.Worker.Timeout + m.cfg.Worker.SetupTimeout + 5*time.Minute}
}

// revokeJobTokens revokes each job's OAuth token when the lifecycle
// publishes that the job ended, in both modes, until the returned
// function is called. A token whose end was missed still expires on its
// own.
func (m *master) revokeJobTokens() (stop func()) {
	sub := m.life.Bus().Subscribe(lifecycle.DefaultBuffer, func(ev *lifecycle.Event) bool {
		return ev.Kind == lifecycle.JobEnded
	})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for range sub.Ready() {
			evs, missed := sub.Next()
			if missed {
				slog.Warn("missed job ends; their OAuth tokens expire on their own")
			}
			for _, ev := range evs {
				if ev.Job != nil && ev.Job.Secrets { // tokens are minted only for jobs with secrets
					m.jobTokens().revoke(context.Background(), ev.Job)
				}
			}
		}
	}()
	return func() {
		sub.Close()
		<-exited
	}
}
