package wire

import (
	"net/url"
	"strconv"
	"strings"

	"builds/internal/build"
)

// Payload is what a runner gets with a job, sealed into the queue with the
// network key: everything it needs to run the job without the database.
type Payload struct {
	Manifest   string         `json:"manifest"`
	Owner      string         `json:"owner"`
	Visibility string         `json:"visibility"`
	JobURL     string         `json:"job_url"`
	Secrets    []SecretWire   `json:"secrets,omitempty"`
	OAuthToken string         `json:"oauth_token,omitempty"`
	Tags       []string       `json:"tags,omitempty"`
	Extra      map[string]any `json:"extra,omitempty"`
}

// SecretWire is a secret as a payload carries it, plaintext included.
type SecretWire struct {
	UUID string `json:"uuid"`
	Name string `json:"name,omitempty"`
	Kind string `json:"kind"`
	Path string `json:"path,omitempty"`
	Mode int    `json:"mode,omitempty"`
	Data []byte `json:"data"`
}

// Public reports whether anyone may read the job's logs without a token.
func (p *Payload) Public() bool {
	v := build.Visibility(p.Visibility)
	return v == build.Public || v == build.Unlisted
}

// JobURL is a job's page on the master, as builds.sr.ht spells it.
func JobURL(origin, owner string, jobID int64) string {
	return strings.TrimRight(origin, "/") + "/~" + url.PathEscape(owner) + "/job/" + strconv.FormatInt(jobID, 10)
}
