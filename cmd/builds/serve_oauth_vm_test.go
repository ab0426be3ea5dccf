package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"builds/internal/testenv"
)

// startServeWith starts builds serve like startServe, on the address addr
// chosen by the caller (so that the configuration can name it).
func startServeWith(t *testing.T, addr, conf string) *server {
	t.Helper()
	data := t.TempDir()
	s := &server{t: t, data: data, url: "http://" + addr, env: append(os.Environ(), "BUILDS_CONFIG="+conf), log: &syncBuffer{}}
	s.cmd = exec.Command(binPath, "serve", "--data", data, "--listen", addr)
	s.cmd.Env = s.env
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stop(syscall.SIGKILL) })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get(s.url + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("builds serve did not answer:\n%s", s.log)
		}
	}
}

// TestOAuthTokenInRealBuild runs a build whose manifest has an oauth key:
// inside the VM, acurl asks the service's own GraphQL API about the job
// (private, so only a valid token sees it) and gets an answer; the token
// is redacted from the log and no longer works once the job has ended.
//
// Guests reach no address of the host unless guest-allow names it, so the
// service listens on an address of a dummy interface the test makes, and
// the configuration allows exactly that address and port.
func TestOAuthTokenInRealBuild(t *testing.T) {
	images := requireImage(t)
	listen, _, allow := testenv.GuestService(t)
	addr := net.JoinHostPort(listen, strconv.Itoa(freePortOn(t, listen)))
	guestAllow := "guest-allow = " + allow + "\n"
	conf := filepath.Join(t.TempDir(), "builds.ini")
	body := "[builds.sr.ht::worker]\nimages = " + images + "\nsetup-timeout = 10m\nmemory = 1024\n" + guestAllow
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServeWith(t, addr, conf)
	token := s.userToken("alice")

	manifest := filepath.Join(t.TempDir(), "oauth.yml")
	api := "http://" + addr + "/query"
	if err := os.WriteFile(manifest, []byte(`image: debian/bookworm
oauth: JOBS:RO pages.sr.ht/PAGES:RW
tasks:
  - api: |
      echo "token: $OAUTH2_TOKEN"
      acurl -sS --fail-with-body -H 'Content-Type: application/json' \
        -d "{\"query\": \"{ job(id: $JOB_ID) { id status } }\"}" `+api+` | tee answer.json
      echo
      grep -q '"status":"RUNNING"' answer.json
      printf %s "$OAUTH2_TOKEN" > token.txt
artifacts:
  - token.txt
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := s.cli("submit", "--token", token, "--visibility", "PRIVATE", "--follow", manifest)
	if code != 0 {
		t.Fatalf("oauth build: exit %d\n%s\n%s", code, out, s.log)
	}
	if !strings.Contains(out, `{"data":{"job":{"id":1,"status":"RUNNING"}}}`) {
		t.Errorf("the build's API answer is missing:\n%s", out)
	}
	if !strings.Contains(out, "token: [redacted]") {
		t.Errorf("the token is not redacted from the task log:\n%s", out)
	}
	if !strings.Contains(out, "OAuth grants not granted: pages.sr.ht/PAGES:RW") {
		t.Errorf("the setup log does not name the grant left out:\n%s", out)
	}

	code, jobToken := s.get(token, s.url+"/artifacts/1/token.txt")
	if code != 200 || !strings.HasPrefix(jobToken, "bld_") || len(jobToken) < 40 {
		t.Fatalf("token artifact: %d %q", code, jobToken)
	}
	if strings.Contains(out, jobToken) {
		t.Errorf("the token appears in the output")
	}
	// The job has ended: its token is revoked.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		code, answer := s.get(jobToken, s.url+"/api/jobs/1")
		if code == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job's token still works after the job ended: %d %s", code, answer)
		}
	}
}
