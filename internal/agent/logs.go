package agent

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"builds/internal/build"
	"builds/internal/runner"
	"builds/internal/wire"
)

// work converts a payload into what package runner runs.
func work(p *wire.Payload) *runner.Work {
	w := &runner.Work{Manifest: p.Manifest, Owner: p.Owner, OAuthToken: p.OAuthToken}
	for _, s := range p.Secrets {
		w.Secrets = append(w.Secrets, build.Secret{
			UUID: s.UUID, Name: s.Name, Kind: build.SecretKind(s.Kind), Path: s.Path, Mode: s.Mode, Data: s.Data,
		})
	}
	return w
}

// AllowLog is the runner's logs.AllowFunc: the logs of public and unlisted
// jobs are open to anyone who can reach the runner; a private job's logs
// need a token from the master.
func (a *Agent) AllowLog(r *http.Request, jobID int64) bool {
	token := r.Header.Get(wire.LogTokenHeader)
	if token == "" {
		token = r.URL.Query().Get("token")
	}
	if token != "" && wire.VerifyLogToken(a.opts.LogKey, jobID, token, time.Now()) {
		return true
	}
	a.mu.Lock()
	public, known := a.public[jobID]
	a.mu.Unlock()
	if known || a.opts.LogDir == "" {
		return public
	}
	_, err := os.Stat(filepath.Join(a.opts.LogDir, strconv.FormatInt(jobID, 10), ".public"))
	return err == nil
}
