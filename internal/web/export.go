package web

import (
	"net/http"

	"builds/internal/build"
)

// SessionUser returns the user signed in by r's session cookie, or nil. It
// lets handlers mounted beside the web UI (logs, artifacts) apply the same
// access rules to browsers.
func (s *Server) SessionUser(r *http.Request) *build.User {
	return userFrom(s.withUser(r).Context())
}
