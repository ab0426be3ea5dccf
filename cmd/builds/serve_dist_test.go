package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"builds/internal/testenv"
)

// TestServeWithRemoteRunner runs the distributed set-up as an operator
// would: `builds serve` on PostgreSQL and Redis, and a `builds runner`
// process with no database access. The runner's VMs are a stand-in (the
// VM path is covered by TestServeRunsRealBuilds); what is tested is that
// jobs reach the runner, its reports reach the master and the logs are
// served through the master.
func TestServeWithRemoteRunner(t *testing.T) {
	redis := testenv.StartRedis(t, testenv.RedisOptions{AppendOnly: true})
	pg := testenv.StartPostgres(t)
	key := newKeyForTest()
	masterConf := writeConf(t, fmt.Sprintf(`[sr.ht]
network-key = %s
[builds.sr.ht]
redis = redis://%s
connection-string = %s
lease-time = 5s
[builds.sr.ht::worker]
images = %s
`, key, redis.Addr, pg.CreateDB(t), fakeImages(t)))
	s := startServe(t, t.TempDir(), "BUILDS_CONFIG="+masterConf)

	rdir := t.TempDir()
	name := freeAddr(t)
	runnerConf := writeConf(t, fmt.Sprintf(`[sr.ht]
network-key = %s
[builds.sr.ht]
redis = redis://%s
images = %s
buildlogs = %s
runner = %s
lease-time = 5s
[builds.sr.ht::worker]
bind-address = %s
`, key, redis.Addr, fakeImages(t), filepath.Join(rdir, "logs"), name, name))
	runner := exec.Command(binPath, "runner", "--config", runnerConf, "--data", rdir, "--fake-vm")
	out, _ := os.Create(filepath.Join(rdir, "output"))
	runner.Stdout, runner.Stderr = out, out
	if err := runner.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		runner.Process.Kill()
		runner.Wait()
		b, _ := os.ReadFile(out.Name())
		if r := testenv.RaceReports(string(b)); r != "" {
			t.Errorf("builds runner found a data race:\n%s", r)
		}
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			t.Logf("runner output:\n%s", b)
		}
	})

	token := s.userToken("alice")
	code, got := s.cli("submit", "--token", token, "--follow", "../../examples/hello.yml")
	if code != 0 || !strings.Contains(got, "job #1: success") {
		t.Fatalf("submit --follow: exit %d\n%s\nmaster:\n%s", code, got, s.log)
	}
	v := s.job(token, 1)
	if v.Job.Runner != name || v.Job.Status != "SUCCESS" {
		t.Errorf("job 1: runner %q status %s, want %s SUCCESS", v.Job.Runner, v.Job.Status, name)
	}
	if code, log := s.get(token, v.Job.Log.FullURL); code != 200 || !strings.Contains(log, "Job #1 on runner "+name) {
		t.Errorf("log through the master: %d %q", code, log)
	}
	// The master's own pages read the log from the runner too.
	want := "Job #1 on runner " + name
	if code, page := s.get("", s.url+"/~alice/job/1"); code != 200 || !strings.Contains(page, want) {
		t.Errorf("job page: %d, lacks %q", code, want)
	}
	var tail struct {
		Job struct{ Log struct{ Last128KiB string } }
	}
	s.query(token, `{ job(id: 1) { log { last128KiB } } }`, nil, &tail)
	if !strings.Contains(tail.Job.Log.Last128KiB, want) {
		t.Errorf("last128KiB through the API: %q", tail.Job.Log.Last128KiB)
	}
	if code, out := s.cli("runners", "--config", masterConf); code != 0 || !strings.Contains(out, name) {
		t.Errorf("builds runners: %d %s", code, out)
	}
}

func writeConf(t testing.TB, body string) string {
	p := filepath.Join(t.TempDir(), "builds.ini")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newKeyForTest() string { return newKey() }
