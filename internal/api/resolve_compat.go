package api

import (
	"context"
	"net/http"

	"builds/internal/build"
	"builds/internal/manifest"
)

// Warnings lists what the job's manifest holds that is accepted but
// ignored; see manifestWarnings.
func (r jobResolver) Warnings(ctx context.Context, j *build.Job) ([]string, error) {
	w := manifestWarnings(j.Manifest)
	if w == nil {
		w = []string{}
	}
	return w, nil
}

// secretsDefault is whether a submission that does not say enables
// secrets, as builds.sr.ht decides it: only when the manifest lists secrets
// or asks for an OAuth token, and the caller's token may read secrets. A
// manifest that does not parse gets false; Submit reports its problems.
func secretsDefault(ctx context.Context, raw string) bool {
	if allows(ctx, build.ScopeSecrets, false) != nil {
		return false
	}
	m, err := manifest.Parse([]byte(raw))
	if err != nil {
		return false
	}
	return len(m.Secrets) > 0 || m.OAuth != "" || len(m.OAuthForeign) > 0
}

// serveAPIMeta answers /query/api-meta.json as sr.ht services do: the
// OAuth scopes this API understands, for clients that build grant strings.
func serveAPIMeta(w http.ResponseWriter, r *http.Request) {
	scopes := make([]string, len(build.AllScopes))
	for i, sc := range build.AllScopes {
		scopes[i] = string(sc)
	}
	writeJSON(w, http.StatusOK, map[string]any{"scopes": scopes})
}
