package main

import (
	"bytes"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"builds/internal/api"
	"builds/internal/build"
	"builds/internal/config"
	"builds/internal/queue/local"
	"builds/internal/store"
	"builds/internal/submit"
)

// runCLI runs the builds command line in-process and returns its exit
// status and everything it wrote to stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = f
	var stderr bytes.Buffer
	code := run(args, f, &stderr)
	os.Stdout = saved
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(f)
	f.Close()
	return code, string(out) + stderr.String()
}

func TestOperatorCommandsAndSubmit(t *testing.T) {
	data := t.TempDir()
	t.Setenv(config.EnvFile, "")
	if code, out := runCLI(t, "user", "add", "alice", "--email", "alice@example.org", "--data", data); code != 0 || !strings.Contains(out, "created user ~alice") {
		t.Fatalf("user add: %d %s", code, out)
	}
	if code, out := runCLI(t, "user", "add", "alice", "--data", data); code == 0 || !strings.Contains(out, "exists already") {
		t.Errorf("second user add: %d %s", code, out)
	}
	if code, out := runCLI(t, "user", "add", "Bad Name", "--data", data); code != 2 || !strings.Contains(out, "invalid user name") {
		t.Errorf("bad user name: %d %s", code, out)
	}
	code, out := runCLI(t, "token", "create", "alice", "--scopes", "JOBS:RW SECRETS:RO PROFILE:RO", "--expires", "30d", "--data", data)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	token := lines[len(lines)-1]
	if code != 0 || !strings.HasPrefix(token, api.TokenPrefix) {
		t.Fatalf("token create: %d %s", code, out)
	}
	if code, out := runCLI(t, "token", "create", "alice", "--scopes", "JOBS:XX", "--data", data); code != 2 || !strings.Contains(out, "RO or RW") {
		t.Errorf("bad scopes: %d %s", code, out)
	}
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n"), 0o600)
	code, out = runCLI(t, "secret", "add", "--user", "alice", "--kind", "ssh_key", "--name", "deploy", keyFile, "--data", data)
	if code != 0 || !regexp.MustCompile(`(?m)^[0-9a-f-]{36}$`).MatchString(out) {
		t.Fatalf("secret add: %d %s", code, out)
	}
	if code, out := runCLI(t, "secret", "add", "--user", "alice", "--kind", "file", keyFile, "--data", data); code == 0 || !strings.Contains(out, "needs the path") {
		t.Errorf("file secret without path: %d %s", code, out)
	}
	if code, out := runCLI(t, "secret", "list", "--user", "alice", "--data", data); code != 0 || !strings.Contains(out, "deploy") || strings.Contains(out, "abc") {
		t.Errorf("secret list: %d %s", code, out)
	}

	st := openForTest(t, data)
	srv := httptest.NewServer(api.New(api.Options{Store: st, Submit: &submit.Service{Store: st, Queue: local.New(local.Options{})}}))
	defer srv.Close()
	manifest := filepath.Join(t.TempDir(), "build.yml")
	os.WriteFile(manifest, []byte("image: debian/bookworm\nsecrets: [deploy]\ntasks:\n  - a: echo hi\n"), 0o644)
	code, out = runCLI(t, "submit", "--url", srv.URL, "--token", token, "--tag", "x", "--tag", "y", "--note", "n", "--execute=false", manifest)
	if code != 0 || strings.TrimSpace(out) != srv.URL+"/~alice/job/1" {
		t.Fatalf("submit: %d %s", code, out)
	}
	j, err := st.Job(t.Context(), 1)
	if err != nil || j.Status != build.JobPending || strings.Join(j.Tags, ",") != "x,y" || j.Note != "n" || !j.Secrets {
		t.Errorf("submitted job = %+v, %v", j, err)
	}
	os.WriteFile(manifest, []byte("image: debian/bookworm\ntasks: []\nfoo: 1\n"), 0o644)
	t.Setenv(envURL, srv.URL)
	t.Setenv(envToken, token)
	if code, out := runCLI(t, "submit", manifest); code != 1 || !strings.Contains(out, `unknown key "foo"`) {
		t.Errorf("invalid manifest: %d %s", code, out)
	}
	if code, out := runCLI(t, "submit", "--token", "bld_wrong", manifest); code != 1 || !strings.Contains(out, "invalid or expired token") {
		t.Errorf("wrong token: %d %s", code, out)
	}
}

// openForTest opens the store the commands used.
func openForTest(t *testing.T, data string) store.Store {
	t.Helper()
	t.Setenv(config.EnvData, data)
	c, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
