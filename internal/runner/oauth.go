package runner

import "strings"

// logOAuth says in the setup log which OAuth grants of the manifest the
// job's token does not carry, and why, so that a task failing for want of
// a grant is explained where its owner looks first.
func (j *job) logOAuth() {
	if len(j.m.OAuthForeign) > 0 {
		j.log.Printf("OAuth grants not granted: %s (grants for other services; this service issues tokens for its own API only)",
			strings.Join(j.m.OAuthForeign, " "))
	}
	switch {
	case j.m.OAuth != "" && j.work.OAuthToken == "":
		j.log.Printf("OAuth grants not granted: %s (no token was issued: secrets are disabled for this job, or this service issues no job tokens)", j.m.OAuth)
	case j.work.OAuthToken != "":
		j.log.Printf("OAUTH2_TOKEN holds a token for %s, valid until the job ends", j.m.OAuth)
	}
}
