package config_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"builds/internal/config"
)

// srhtExample is laid out as builds.sr.ht's config.example.ini ships:
// every section of the sr.ht services sharing the file, values left empty
// for the operator to fill in.
const srhtExample = `[sr.ht]
#
# The name of your network of sr.ht-based sites
site-name=sourcehut
site-info=https://sourcehut.org
site-blurb=the hacker's forge
environment=development
owner-name=Jane Operator
owner-email=jane@example.org
source-url=
service-key=
network-key=
redis-host=

[objects]
s3-upstream=
s3-access-key=
s3-secret-key=

[mail]
smtp-host=
smtp-port=
smtp-user=
smtp-password=
smtp-from=
error-to=
error-from=
pgp-privkey=
pgp-pubkey=
pgp-key-id=

[webhooks]
private-key=

[builds.sr.ht]
origin=http://builds.sr.ht.local
debug-host=0.0.0.0
debug-port=5002
connection-string=
migrate-on-upgrade=yes
redis=
oauth-client-id=
oauth-client-secret=
allow-free=

[builds.sr.ht::api]
internal-ipnet=127.0.0.0/8,::1/128

[builds.sr.ht::worker]
name=runner.sr.ht.local
buildlogs=./logs
images=./images
controlcmd=./images/control
timeout=
bind-address=
trigger-from=

[git.sr.ht::dispatch]
/usr/bin/buildsrht-keys=ci:ci

[meta.sr.ht]
origin=http://meta.sr.ht.local
`

func TestSrhtLayoutWithEmptyValues(t *testing.T) {
	c, err := config.Load(writeFile(t, srhtExample))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	def := config.Default()
	if c.Mail.SMTPPort != def.Mail.SMTPPort || c.Worker.Timeout != 45*time.Minute ||
		c.Worker.BindAddress != def.Worker.BindAddress || c.AllowFree != def.AllowFree {
		t.Errorf("empty values did not give the defaults: smtp-port %d, timeout %v, bind-address %q, allow-free %v",
			c.Mail.SMTPPort, c.Worker.Timeout, c.Worker.BindAddress, c.AllowFree)
	}
	if c.Listen != "0.0.0.0:5002" || c.Worker.Name != "runner.sr.ht.local" || c.SiteName != "sourcehut" {
		t.Errorf("listen %q, runner name %q, site name %q", c.Listen, c.Worker.Name, c.SiteName)
	}
	if c.SSHUser != "ci" {
		t.Errorf("SSHUser = %q, want ci from [git.sr.ht::dispatch]", c.SSHUser)
	}
	want := []string{
		"[objects] is not used by builds; its settings are ignored",
		"[builds.sr.ht::api] internal-ipnet is a builds.sr.ht setting builds does not need; it is ignored",
		"[meta.sr.ht] is not used by builds; its settings are ignored",
		"[sr.ht] site-info is a builds.sr.ht setting builds does not need; it is ignored",
		"[sr.ht] site-blurb is a builds.sr.ht setting builds does not need; it is ignored",
		"[sr.ht] environment is a builds.sr.ht setting builds does not need; it is ignored",
	}
	for _, w := range want {
		if !slices.Contains(c.Warnings, w) {
			t.Errorf("no warning %q", w)
		}
	}
	if len(c.Warnings) != len(want) {
		t.Errorf("warnings:\n%s\nwant %d", strings.Join(c.Warnings, "\n"), len(want))
	}
}

func TestSSHUserDefault(t *testing.T) {
	c, err := config.Load(writeFile(t, "[builds.sr.ht]\norigin=http://b.example.org\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.SSHUser != "builds" {
		t.Errorf("SSHUser = %q, want builds", c.SSHUser)
	}
	if d, _ := config.Load(""); d.SSHUser != "builds" {
		t.Errorf("SSHUser without a file = %q", d.SSHUser)
	}
}
