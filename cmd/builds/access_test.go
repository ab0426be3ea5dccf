package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrivateLogsAndArtifacts checks who may read a private job's log and
// artifact at the master's /logs/ and /artifacts/: its owner through a
// token that grants LOGS, nobody else. A public job's files are read the
// same way by anyone, which shows that the files are there to be served.
func TestPrivateLogsAndArtifacts(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, data, "BUILDS_CONFIG="+vmConfig(t, fakeImages(t)))
	alice := s.userToken("alice")
	bob := s.userToken("bob")
	code, out := s.cli("token", "create", "alice", "--scopes", "JOBS:RW PROFILE:RO")
	if code != 0 {
		t.Fatalf("token create: %s", out)
	}
	noLogs := lastLine(out)
	manifest := filepath.Join(t.TempDir(), "m.yml")
	if err := os.WriteFile(manifest, []byte("image: debian/bookworm\ntasks:\n  - a: echo hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, vis := range []string{"PRIVATE", "PUBLIC"} {
		if code, out := s.cli("submit", "--token", alice, "--execute=false", "--visibility", vis, manifest); code != 0 {
			t.Fatalf("submit %s: %d %s", vis, code, out)
		}
	}
	// Jobs 1 (private) and 2 (public) have a log and an artifact.
	for _, id := range []string{"1", "2"} {
		writeUnder(t, filepath.Join(data, "logs", id, "log"), "log of job "+id+"\n")
		writeUnder(t, filepath.Join(data, "artifacts", id, "out.txt"), "artifact of job "+id+"\n")
	}
	for _, c := range []struct {
		who, token string
		job        string
		want       int
	}{
		{"anonymous", "", "1", 404},
		{"another user", bob, "1", 404},
		{"the owner without LOGS", noLogs, "1", 404},
		{"a malformed token", "not-a-token", "1", 401}, // refused as a bad token, not treated as anonymous
		{"the owner", alice, "1", 200},
		{"anonymous", "", "2", 200},
		{"another user", bob, "2", 200},
	} {
		for _, path := range []string{"/logs/" + c.job + "/log", "/artifacts/" + c.job + "/out.txt"} {
			code, body := s.get(c.token, s.url+path)
			if code != c.want {
				t.Errorf("%s reading %s of a %s job: %d, want %d", c.who, path, map[string]string{"1": "private", "2": "public"}[c.job], code, c.want)
			}
			if code == 200 && !strings.Contains(body, "of job "+c.job) {
				t.Errorf("%s reading %s: %q", c.who, path, body)
			}
			if code != 200 && strings.Contains(body, "of job") {
				t.Errorf("%s reading %s was refused but got the content: %q", c.who, path, body)
			}
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func writeUnder(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
