package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"builds/internal/config"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "builds.ini")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsNeedNoFile(t *testing.T) {
	t.Setenv(config.EnvFile, "")
	t.Setenv(config.EnvData, "/srv/builds")
	c, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != "" || c.DataDir != "/srv/builds" || c.Listen != "127.0.0.1:8080" {
		t.Errorf("defaults: path %q data %q listen %q", c.Path, c.DataDir, c.Listen)
	}
	if c.Origin != "http://127.0.0.1:8080" || c.Worker.BuildLogs != "/srv/builds/logs" {
		t.Errorf("derived: origin %q logs %q", c.Origin, c.Worker.BuildLogs)
	}
	if c.Worker.Timeout != 45*time.Minute || c.Distributed() || c.SQLitePath() != "/srv/builds/builds.db" {
		t.Errorf("timeout %v distributed %v sqlite %q", c.Worker.Timeout, c.Distributed(), c.SQLitePath())
	}
}

func TestEnvSelectsFile(t *testing.T) {
	p := writeFile(t, "[sr.ht]\nsite-name = example builds\n")
	t.Setenv(config.EnvFile, p)
	c, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if c.SiteName != "example builds" || c.Path != p {
		t.Errorf("site name %q path %q", c.SiteName, c.Path)
	}
}

func TestBuildsSrhtFile(t *testing.T) {
	p := writeFile(t, `# a builds.sr.ht file
[sr.ht]
site-name=sr.ht
environment=production
network-key=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG=
redis-host=redis://localhost:6379/1

[builds.sr.ht]
origin=https://builds.example.org
debug-host=0.0.0.0
debug-port=5002
connection-string=postgresql://builds@localhost/builds
migrate-on-upgrade=no
redis=redis://queue.example.org:6379/0
allow-free=yes

[builds.sr.ht::worker]
name=runner1.example.org:8080
buildlogs=/var/log/builds
images=/var/lib/images
controlcmd=/var/lib/images/control
timeout=30m
bind-address=0.0.0.0:8080
trigger-from=builds@example.org
s3-bucket=artifacts

[meta.sr.ht]
origin=https://meta.example.org
`)
	c, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	w := c.Worker
	if c.Listen != "0.0.0.0:5002" || c.MigrateOnUpgrade || !c.AllowFree || !c.Distributed() {
		t.Errorf("builds section: listen %q migrate %v free %v", c.Listen, c.MigrateOnUpgrade, c.AllowFree)
	}
	if w.Name != "runner1.example.org:8080" || w.Timeout != 30*time.Minute || w.ControlCmd != "/var/lib/images/control" || w.TriggerFrom != "builds@example.org" {
		t.Errorf("worker: %+v", w)
	}
	// One line for each setting without effect: S3, the other service's
	// section and the sr.ht key we do not need.
	if len(c.Warnings) != 3 || !strings.Contains(strings.Join(c.Warnings, "\n"), "s3-bucket") {
		t.Errorf("warnings: %q", c.Warnings)
	}
}

func TestSeedRunnerKeysInBuildsSection(t *testing.T) {
	p := writeFile(t, "[builds.sr.ht]\nimages=/imgs\nbuildlogs=/logs\nrunner=host1:8080\n")
	c, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Worker.Images != "/imgs" || c.Worker.BuildLogs != "/logs" || c.Worker.Name != "host1:8080" || c.Worker.ControlCmd != "/imgs/control" {
		t.Errorf("worker: %+v", c.Worker)
	}
}

func TestBadValuesAllReported(t *testing.T) {
	p := writeFile(t, `[builds.sr.ht]
origin=builds.example.org
listen=8080
migrate-on-upgrade=maybe
redis=redis://q:6379
[builds.sr.ht::worker]
timeout=forever
concurrency=0
means=vmware
[mail]
smtp-port=abc
`)
	_, err := config.Load(p)
	if err == nil {
		t.Fatal("bad config accepted")
	}
	if !config.IsConfigError(err) {
		t.Errorf("not a config error: %v", err)
	}
	for _, want := range []string{
		"[builds.sr.ht] origin", "[builds.sr.ht] listen", "[builds.sr.ht] migrate-on-upgrade = \"maybe\": expected yes or no",
		"[builds.sr.ht::worker] timeout", "[builds.sr.ht::worker] concurrency", "[builds.sr.ht::worker] means = \"vmware\": expected qemu or docker",
		"[mail] smtp-port", "[sr.ht] network-key",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestUnknownKeyWarns(t *testing.T) {
	p := writeFile(t, "[builds.sr.ht::worker]\ntimout=10m\n")
	c, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "timout") {
		t.Errorf("warnings: %q", c.Warnings)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "nope.ini"))
	if err == nil || !strings.Contains(err.Error(), "nope.ini") {
		t.Errorf("err = %v", err)
	}
}

func TestSecondsAsTimeout(t *testing.T) {
	p := writeFile(t, "[builds.sr.ht::worker]\ntimeout=600\narches=amd64, arm64\n")
	c, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Worker.Timeout != 10*time.Minute || len(c.Worker.Arches) != 2 || c.Worker.Arches[1] != "arm64" {
		t.Errorf("timeout %v arches %q", c.Worker.Timeout, c.Worker.Arches)
	}
}

// The annotated example documents every key: it must load cleanly, with
// no key unknown to the reader.
func TestExampleConfig(t *testing.T) {
	c, err := config.Load("../../config.example.ini")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %q", c.Warnings)
	}
	if c.Worker.Concurrency != 1 || c.Worker.MemoryMiB != 2048 {
		t.Errorf("worker: %+v", c.Worker)
	}
}

func TestGuestNetworkKeys(t *testing.T) {
	p := writeFile(t, "[builds.sr.ht::worker]\nguest-allow = builds.example.org:443, 203.0.113.7 198.51.100.0/24\nqemu-user = qemu-runner\n")
	c, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"builds.example.org:443", "203.0.113.7", "198.51.100.0/24"}
	if strings.Join(c.Worker.GuestAllow, "|") != strings.Join(want, "|") || c.Worker.GuestNetwork != "contained" || c.Worker.QemuUser != "qemu-runner" {
		t.Errorf("guest-allow %q, guest-network %q, qemu-user %q", c.Worker.GuestAllow, c.Worker.GuestNetwork, c.Worker.QemuUser)
	}
	for _, bad := range []string{"guest-allow = ::1", "guest-allow = example.org", "guest-allow = example.org:99999",
		"guest-allow = fd00::/8", "guest-network = none", "qemu-user = root"} {
		p := writeFile(t, "[builds.sr.ht::worker]\n"+bad+"\n")
		_, err := config.Load(p)
		key := strings.TrimSpace(strings.SplitN(bad, "=", 2)[0])
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: error %v, want one naming %s", bad, err, key)
		}
	}
}
