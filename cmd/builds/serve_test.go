package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"builds/internal/testenv"
)

// These tests run the real binary: `builds serve` as a child process, the
// operator commands and `builds submit` against it, as a user would.

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "builds-bin-")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "builds")
	if err := testenv.GoBuild(".", binPath); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one `builds serve` process.
type server struct {
	t    testing.TB
	data string
	url  string
	env  []string
	cmd  *exec.Cmd
	log  *syncBuffer
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe starts builds serve on a free port with the given data
// directory and extra environment, and waits until it answers.
func startServe(t testing.TB, data string, env ...string) *server {
	t.Helper()
	addr := freeAddr(t)
	s := &server{t: t, data: data, url: "http://" + addr, env: append(append(os.Environ(), "BUILDS_CONFIG="), env...), log: &syncBuffer{}}
	s.cmd = exec.Command(binPath, "serve", "--data", data, "--listen", addr)
	s.cmd.Env = s.env
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.stop(syscall.SIGKILL)
		if r := testenv.RaceReports(s.log.String()); r != "" {
			t.Errorf("builds serve found a data race:\n%s", r)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(s.url + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("builds serve did not answer: %v\n%s", err, s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) stop(sig syscall.Signal) {
	if s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(sig)
	s.cmd.Wait()
}

// cli runs the binary with the server's data directory and environment.
func (s *server) cli(args ...string) (int, string) {
	s.t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(s.env, "BUILDS_DATA="+s.data, "BUILDS_URL="+s.url)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return 0, string(out)
}

// userToken creates a user and returns a new token of theirs.
func (s *server) userToken(name string) string {
	s.t.Helper()
	if code, out := s.cli("user", "add", name); code != 0 {
		s.t.Fatalf("user add: %s", out)
	}
	code, out := s.cli("token", "create", name)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 {
		s.t.Fatalf("token create: %s", out)
	}
	return lines[len(lines)-1]
}

// query runs a GraphQL query and decodes its data into out.
func (s *server) query(token, q string, vars map[string]any, out any) {
	s.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
	req, _ := http.NewRequest("POST", s.url+"/query", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var env struct {
		Data   json.RawMessage
		Errors []struct{ Message string }
	}
	if err := json.Unmarshal(raw, &env); err != nil || len(env.Errors) > 0 {
		s.t.Fatalf("query %s: %v %s", q, err, raw)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		s.t.Fatal(err)
	}
}

// get fetches a URL with the token and returns status and body.
func (s *server) get(token, url string) (int, string) {
	s.t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

type jobView struct {
	Job struct {
		Status string
		Runner string
		Tasks  []struct{ Name, Status string }
		Log    struct{ FullURL string }
	}
}

func (s *server) job(token string, id int) jobView {
	var v jobView
	s.query(token, `query($id: Int!) { job(id: $id) { status runner tasks { name status } log { fullURL } } }`,
		map[string]any{"id": id}, &v)
	return v
}

// waitStatus polls a job until its status is one of want.
func (s *server) waitStatus(token string, id int, within time.Duration, want ...string) jobView {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		v := s.job(token, id)
		for _, w := range want {
			if v.Job.Status == w {
				return v
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("job %d is %s after %v, want %v\n%s", id, v.Job.Status, within, want, s.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
