package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"builds/internal/api"
	"builds/internal/build"
	"builds/internal/queue"
	"builds/internal/queue/local"
	"builds/internal/secretbox"
	"builds/internal/store"
	"builds/internal/store/postgres"
	"builds/internal/store/sqlite"
	"builds/internal/submit"
	"builds/internal/testenv"
)

// fakeLogs serves fixed log text and runner-style URLs.
type fakeLogs struct{}

func (fakeLogs) FullURL(j *build.Job, t *build.Task) string {
	if t == nil {
		return fmt.Sprintf("http://runner.test/logs/%d/log", j.ID)
	}
	return fmt.Sprintf("http://runner.test/logs/%d/%s/log", j.ID, t.Name)
}

func (fakeLogs) Last128KiB(ctx context.Context, j *build.Job, t *build.Task) (string, error) {
	if t == nil {
		return "setup output", nil
	}
	return "output of " + t.Name, nil
}

// env is a running API over a real SQLite store.
type env struct {
	t         testing.TB
	srv       *httptest.Server
	store     store.Store
	queue     *local.Queue
	svc       *submit.Service
	alice     *build.User
	bob       *build.User
	aliceTok  string
	bobTok    string
	mu        sync.Mutex
	cancelled []int64
}

const goodManifest = `image: debian/bookworm
tasks:
  - build: |
      echo building
  - test: |
      echo testing
`

func TestMain(m *testing.M) { testenv.Main(m) }

// newEnv starts the API over a fresh SQLite store.
func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "builds.db"), secretbox.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return newEnvStore(t, db)
}

// newPostgresEnv starts the API over a fresh PostgreSQL database; it
// skips when PostgreSQL is not installed.
func newPostgresEnv(t testing.TB) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping PostgreSQL in -short mode")
	}
	ctx := context.Background()
	db, err := postgres.Open(ctx, testenv.Postgres(t), secretbox.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return newEnvStore(t, db)
}

// newEnvStore starts the API over st with users alice and bob, each with
// a token that has every grant.
func newEnvStore(t testing.TB, st store.Store) *env {
	e := &env{t: t, store: st, queue: local.New(local.Options{})}
	e.svc = &submit.Service{
		Store:    st,
		Queue:    e.queue,
		Images:   func() []string { return []string{"debian/bookworm", "debian/stable", "archlinux"} },
		OnCancel: e.onCancel,
	}
	e.srv = httptest.NewServer(api.New(api.Options{
		Store: st, Submit: e.svc, Logs: fakeLogs{}, Origin: "http://builds.test",
		Version: "0.1.0", BuildTimeout: 45 * time.Minute, SSHUser: "builds",
	}))
	t.Cleanup(e.srv.Close)
	e.alice, e.aliceTok = e.user("alice", "")
	e.bob, e.bobTok = e.user("bob", "")
	return e
}

func (e *env) onCancel(id int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cancelled = append(e.cancelled, id)
}

func (e *env) wasCancelled(id int64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Contains(e.cancelled, id)
}

// user creates a user and a token with the given grants ("" for all).
func (e *env) user(name, grants string) (*build.User, string) {
	e.t.Helper()
	u := &build.User{Name: name, Email: name + "@example.org"}
	if err := e.store.CreateUser(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
	return u, e.token(u, grants)
}

func (e *env) token(u *build.User, grants string) string {
	e.t.Helper()
	gs, err := build.ParseGrants(grants)
	if err != nil {
		e.t.Fatal(err)
	}
	value, hash, err := api.NewToken()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.CreateToken(context.Background(), &build.Token{UserID: u.ID, Name: "test", Grants: gs}, hash); err != nil {
		e.t.Fatal(err)
	}
	return value
}

// gqlError is one error of a GraphQL response.
type gqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

// gqlResponse is a GraphQL response with its HTTP status.
type gqlResponse struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

// gql runs a GraphQL request; token "" sends none.
func (e *env) gql(token, query string, vars map[string]any) gqlResponse {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	status, raw := e.do("POST", "/query", token, "application/json", body)
	var r gqlResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		e.t.Fatalf("decode GraphQL response %q: %v", raw, err)
	}
	r.Status = status
	return r
}

// ok runs a request that must succeed and decodes its data into out.
func (e *env) ok(token, query string, vars map[string]any, out any) {
	e.t.Helper()
	r := e.gql(token, query, vars)
	if r.Status != 200 || len(r.Errors) > 0 {
		e.t.Fatalf("GraphQL request failed: status %d, errors %+v\nquery: %s", r.Status, r.Errors, query)
	}
	if out != nil {
		if err := json.Unmarshal(r.Data, out); err != nil {
			e.t.Fatalf("decode data %s: %v", r.Data, err)
		}
	}
}

// fails runs a request that must fail with the given error code and a
// message containing want.
func (e *env) fails(token, query string, vars map[string]any, code, want string) gqlResponse {
	e.t.Helper()
	r := e.gql(token, query, vars)
	if len(r.Errors) == 0 {
		e.t.Fatalf("request succeeded, want a %s error; data %s", code, r.Data)
	}
	got := r.Errors[0]
	if got.Extensions.Code != code || !strings.Contains(got.Message, want) {
		e.t.Fatalf("error = %q (code %q), want code %q and a message containing %q", got.Message, got.Extensions.Code, code, want)
	}
	return r
}

// do sends one HTTP request and returns the status and body.
func (e *env) do(method, path, token, contentType string, body []byte) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, raw
}

// submitJob submits a manifest as alice (or the token's owner) and
// returns the job ID.
func (e *env) submitJob(token string, vars map[string]any) int64 {
	e.t.Helper()
	if vars == nil {
		vars = map[string]any{}
	}
	if _, ok := vars["manifest"]; !ok {
		vars["manifest"] = goodManifest
	}
	var out struct{ Submit struct{ ID int64 } }
	e.ok(token, `mutation($manifest: String!, $execute: Boolean, $visibility: Visibility, $tags: [String!], $note: String, $secrets: Boolean) {
		submit(manifest: $manifest, execute: $execute, visibility: $visibility, tags: $tags, note: $note, secrets: $secrets) { id }
	}`, vars, &out)
	return out.Submit.ID
}

// jobCount counts every job of a user in the store.
func (e *env) jobCount(u *build.User) int {
	e.t.Helper()
	n := 0
	f := store.JobFilter{OwnerID: u.ID, Limit: 100}
	for {
		jobs, next, err := e.store.ListJobs(context.Background(), f)
		if err != nil {
			e.t.Fatal(err)
		}
		n += len(jobs)
		if next == 0 {
			return n
		}
		f.Before = next
	}
}

// status reads a job's status from the store.
func (e *env) status(id int64) build.JobStatus {
	e.t.Helper()
	j, err := e.store.Job(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return j.Status
}

// doHeader sends a request with a raw Authorization header value.
func (e *env) doHeader(method, path, authorization, body string) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", authorization)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, raw
}

// take hands the oldest queued job to a runner, as a runner would, and
// fails when none is queued.
func (e *env) take() queue.Item {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l, err := e.queue.Take(ctx, "runner.test", []string{"amd64"})
	if err != nil {
		e.t.Fatalf("take a queued job: %v", err)
	}
	return l.Item()
}
