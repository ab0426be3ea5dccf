package runner_test

import (
	"strings"
	"testing"
	"time"

	"builds/internal/build"
	"builds/internal/runner"
)

// A task prints its secrets and tokens the ways scripts do, through the
// guest's terminal (CRLF line ends, set -x tracing): the log keeps none of
// them, and its lines stay apart.
func TestRedactionThroughTheTerminal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
		"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n" +
		"QyNTUxOQAAACDx3m1GWZ4bYr2zL0bL9hJ2fJ0m8Zc8w8kq0Ck5i7sJYwAAAJgq1bFHKtWx\n" +
		"-----END OPENSSH PRIVATE KEY-----\n"
	secrets := []build.Secret{
		{UUID: "7c8e4a5e-0000-4000-8000-000000000011", Kind: build.SecretFile, Path: "~/.pw", Mode: 0o600, Data: []byte("s3cr3t-val\n")},
		{UUID: "7c8e4a5e-0000-4000-8000-000000000012", Kind: build.SecretFile, Path: "~/.key", Mode: 0o600, Data: []byte(key)},
	}
	manifest := `image: debian/bookworm
secrets:
  - 7c8e4a5e-0000-4000-8000-000000000011
  - 7c8e4a5e-0000-4000-8000-000000000012
tasks:
  - show: |
      V=$(cat ~/.pw)
      echo "pw: $V"; echo after-pw
      W="it's $V"; echo "$W"
      base64 ~/.pw
      base64 ~/.key
      sed -n 3p ~/.key
      echo "$OAUTH2_TOKEN" | base64
      echo issued-job-token-77
`
	e.jobs.set(7, &runner.Work{Manifest: manifest, Owner: "alice", Secrets: secrets,
		OAuthToken: "oauth-tok-5f2a9c", Redact: [][]byte{[]byte("issued-job-token-77")}})
	e.src.Put(7)
	if s := e.wait(7, 30*time.Second); s != build.JobSuccess {
		t.Fatalf("job ended %s; log:\n%s\n%s", s, e.log(7, ""), e.log(7, "show"))
	}
	got := e.log(7, "show")
	for _, leak := range []string{"s3cr3t", "czNjcjN0", "QyNTUxOQAAACDx3m1G", "LS0tLS1CRUdJTi", "b2F1dGgtdG9r", "Ywo=", "oauth-tok", "issued-job-token"} {
		if strings.Contains(got, leak) {
			t.Errorf("%q leaked into the log:\n%s", leak, got)
		}
	}
	if !strings.Contains(got, "pw: [redacted]\r\n") || !strings.Contains(got, "\r\nafter-pw\r\n") {
		t.Errorf("redaction changed the lines around the secret:\n%q", got)
	}
}
